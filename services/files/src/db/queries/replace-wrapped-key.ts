import type { DB } from '@tenantmesh/db';
import { type Kysely, sql } from 'kysely';

/** Compare-and-set of one wrapped data key; false when the row changed (or went) meanwhile. */
export async function replaceWrappedKey(
  db: Kysely<DB>,
  args: { id: string; oldKid: string; oldWrapped: Buffer; newKid: string; newWrapped: Buffer },
) {
  const { rows } = await sql<{ replaced: boolean }>`
    select files_replace_wrapped_key(${args.id}, ${args.oldKid}, ${args.oldWrapped}, ${args.newKid}, ${args.newWrapped}) as replaced`.execute(
    db,
  );
  return rows[0]?.replaced === true;
}
