import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/**
 * Stores `events` (one or more, in order) as the user's next seqs: the counter is bumped by N in
 * one upsert, then the N rows go in with seqs last_seq-N+1 … last_seq in one insert. The counter
 * row's lock is held until commit, so a user's events commit in seq order and seqs have no gaps,
 * whichever mix of single events and batches arrives at once. Rows come back in seq order.
 */
export async function insertEvents(
  trx: Transaction<DB>,
  args: { uid: string; events: readonly { type: string; data: unknown }[] },
) {
  const n = args.events.length;
  if (n === 0) throw new RangeError('insertEvents needs at least one event');
  const counter = await trx
    .insertInto('event_streams')
    .values({ user_id: args.uid, last_seq: n })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_seq: sql`event_streams.last_seq + ${n}` }))
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const first = BigInt(counter.last_seq) - BigInt(n) + 1n;
  const rows = await trx
    .insertInto('events')
    .values(
      args.events.map((event, i) => ({
        user_id: args.uid,
        seq: String(first + BigInt(i)),
        type: event.type,
        data: sql`cast(${JSON.stringify(event.data)} as text)::jsonb`,
      })),
    )
    .returning(['seq', 'type', 'data', 'created_at'])
    .execute();
  // RETURNING's order is not promised: put the rows back in seq order.
  return rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
}
