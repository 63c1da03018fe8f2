import { type DB, withTenant } from '@tenantmesh/db';
import { errors } from '@tenantmesh/http-kit';
import type { SessionService } from '@tenantmesh/sessions';
import type { Kysely } from 'kysely';
import { markDeletionRequested } from '../db/queries/mark-deletion-requested';

/**
 * Records an account deletion request and signs the user out everywhere. The purge of live data
 * (a job, within `purgeDays`) runs from this record; backups holding the data expire on their own
 * 30-day schedule (docs/data-retention.md).
 */
export async function requestAccountDeletion(
  db: Kysely<DB>,
  sessions: SessionService,
  args: { uid: string; purgeDays: number },
): Promise<{ requestedAt: Date; purgeBy: Date }> {
  const row = await withTenant(db, args.uid, (trx) => markDeletionRequested(trx, { uid: args.uid }));
  if (!row?.deletion_requested_at) throw errors.notFound('no such user');
  await sessions.endAll(args.uid);
  const requestedAt = row.deletion_requested_at;
  return { requestedAt, purgeBy: new Date(requestedAt.getTime() + args.purgeDays * 86_400_000) };
}
