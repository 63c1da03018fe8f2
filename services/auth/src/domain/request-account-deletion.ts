import { type DB, enqueueAccountPurge, withTenant } from '@tenantmesh/db';
import { errors } from '@tenantmesh/http-kit';
import type { SessionService } from '@tenantmesh/sessions';
import type { Kysely } from 'kysely';
import { markDeletionRequested } from '../db/queries/mark-deletion-requested';

/**
 * Records an account deletion request, enqueues its `account.purge` job in the same transaction,
 * and signs the user out everywhere. The jobs service runs the purge at once and retries with
 * backoff well inside `purgeDays`; backups holding the data expire on their own 30-day schedule
 * (docs/data-retention.md).
 */
export async function requestAccountDeletion(
  db: Kysely<DB>,
  sessions: SessionService,
  args: { uid: string; purgeDays: number },
): Promise<{ requestedAt: Date; purgeBy: Date }> {
  // The request and the purge job commit together: no request is ever recorded without its purge.
  const row = await withTenant(db, args.uid, async (trx) => {
    const marked = await markDeletionRequested(trx, { uid: args.uid });
    if (marked?.deletion_requested_at) await enqueueAccountPurge(trx, args.uid);
    return marked;
  });
  if (!row?.deletion_requested_at) throw errors.notFound('no such user');
  await sessions.endAll(args.uid);
  const requestedAt = row.deletion_requested_at;
  return { requestedAt, purgeBy: new Date(requestedAt.getTime() + args.purgeDays * 86_400_000) };
}
