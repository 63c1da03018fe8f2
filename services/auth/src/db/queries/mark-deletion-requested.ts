import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/** Records the request once: asking again does not push the purge date back. */
export function markDeletionRequested(trx: Transaction<DB>, args: { uid: string }) {
  return trx
    .updateTable('user_sessions')
    .set({ deletion_requested_at: sql<Date>`coalesce(deletion_requested_at, now())`, updated_at: new Date() })
    .where('id', '=', args.uid)
    .returning('deletion_requested_at')
    .executeTakeFirst();
}
