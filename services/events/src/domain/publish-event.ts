import { withTenant } from '@tenantmesh/db';
import { insertEvents } from '../db/queries/insert-event';
import type { EventsDeps } from '../deps';
import type { UserEvent } from '../fanout/event-fanout';

/**
 * Stores `events` for `uid` (one or a batch, in order) in ONE transaction as the user's next seqs,
 * then fans each out to every replica, in seq order. The store comes first: a fan-out that fails
 * loses nothing, because streams fill gaps and reconnects replay from PostgreSQL. Returns the
 * stored events in order. The single form of `POST /events` is a batch of one.
 */
export async function publishEvents(
  deps: Pick<EventsDeps, 'database' | 'fanout' | 'logger' | 'eventsMetrics'>,
  args: { uid: string; events: readonly { type: string; data: unknown }[] },
): Promise<UserEvent[]> {
  const rows = await withTenant(deps.database.db, args.uid, (trx) => insertEvents(trx, args));
  const stored = rows.map(
    (row): UserEvent => ({
      uid: args.uid,
      seq: Number(row.seq),
      type: row.type,
      data: row.data,
      at: row.created_at.toISOString(),
    }),
  );
  for (const event of stored) {
    deps.eventsMetrics.published.inc();
    await deps.fanout.publish(event).catch((error: unknown) => {
      deps.logger.warn('fan-out failed; streams will fill the gap from PostgreSQL', {
        uid: args.uid,
        seq: event.seq,
        err: error,
      });
    });
  }
  return stored;
}
