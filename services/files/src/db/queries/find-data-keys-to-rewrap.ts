import type { DB } from '@tenantmesh/db';
import { type Kysely, sql } from 'kysely';

/** A batch of data keys not wrapped by `activeKid`, across users (SECURITY DEFINER, migration 0005). */
export async function findDataKeysToRewrap(db: Kysely<DB>, args: { activeKid: string; limit: number }) {
  const { rows } = await sql<{ id: string; user_id: string; key_kid: string; wrapped_key: Buffer }>`
    select id, user_id, key_kid, wrapped_key from files_data_keys_to_rewrap(${args.activeKid}, ${args.limit})`.execute(
    db,
  );
  return rows;
}
