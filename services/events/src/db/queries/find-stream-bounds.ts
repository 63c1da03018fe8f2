import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/** The user's newest seq (0 when none yet) and oldest seq still kept (undefined when none). */
export async function findStreamBounds(trx: Transaction<DB>, args: { uid: string }) {
  const row = await trx
    .selectNoFrom([
      sql<string | null>`(select last_seq from event_streams where user_id = ${args.uid})`.as('last'),
      sql<string | null>`(select min(seq) from events where user_id = ${args.uid})`.as('oldest'),
    ])
    .executeTakeFirstOrThrow();
  return { last: Number(row.last ?? 0), oldest: row.oldest === null ? undefined : Number(row.oldest) };
}
