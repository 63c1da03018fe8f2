import { withTenant } from '@tenantmesh/db';
import { insertEvent } from '../db/queries/insert-event';
import type { EventsDeps } from '../deps';
import type { UserEvent } from '../fanout/event-fanout';

/**
 * Stores the event for `uid` (the next seq), then fans it out to every replica. The store comes
 * first: a fan-out that fails loses nothing, because streams fill gaps and reconnects replay from
 * PostgreSQL.
 */
export async function publishEvent(
  deps: Pick<EventsDeps, 'database' | 'fanout' | 'logger' | 'eventsMetrics'>,
  args: { uid: string; type: string; data: unknown },
): Promise<UserEvent> {
  const row = await withTenant(deps.database.db, args.uid, (trx) => insertEvent(trx, args));
  const event: UserEvent = {
    uid: args.uid,
    seq: Number(row.seq),
    type: row.type,
    data: row.data,
    at: row.created_at.toISOString(),
  };
  deps.eventsMetrics.published.inc();
  await deps.fanout.publish(event).catch((error: unknown) => {
    deps.logger.warn('fan-out failed; streams will fill the gap from PostgreSQL', {
      uid: args.uid,
      seq: event.seq,
      err: error,
    });
  });
  return event;
}
