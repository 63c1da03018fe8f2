import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

/** The user's events with after < seq < before (before optional), in seq order. */
export function listEventsAfter(
  trx: Transaction<DB>,
  args: { uid: string; after: number; before?: number; limit: number },
) {
  let query = trx
    .selectFrom('events')
    .select(['seq', 'type', 'data', 'created_at'])
    .where('user_id', '=', args.uid)
    .where('seq', '>', String(args.after));
  if (args.before !== undefined) query = query.where('seq', '<', String(args.before));
  return query.orderBy('seq').limit(args.limit).execute();
}
