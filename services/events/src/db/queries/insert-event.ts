import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/**
 * Stores one event as the user's next seq. The counter row's lock is held until commit, so a
 * user's events commit in seq order and seqs have no gaps.
 */
export async function insertEvent(trx: Transaction<DB>, args: { uid: string; type: string; data: unknown }) {
  const counter = await trx
    .insertInto('event_streams')
    .values({ user_id: args.uid, last_seq: 1 })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_seq: sql`event_streams.last_seq + 1` }))
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  return trx
    .insertInto('events')
    .values({
      user_id: args.uid,
      seq: counter.last_seq,
      type: args.type,
      data: sql`cast(${JSON.stringify(args.data)} as text)::jsonb`,
    })
    .returning(['seq', 'type', 'data', 'created_at'])
    .executeTakeFirstOrThrow();
}
