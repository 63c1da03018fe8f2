import { sql, type Transaction } from 'kysely';
import type { DB } from './schema';

/**
 * The account purge's queue settings, shared by auth (which enqueues it in the same transaction
 * as the deletion request) and the jobs service (which runs it): attempts spread by backoff over
 * hours, far inside the 30-day promise.
 */
export const ACCOUNT_PURGE_JOB = {
  type: 'account.purge',
  maxAttempts: 20,
  lockTimeoutSeconds: 600,
  dedupKey: 'account.purge',
} as const;

/**
 * Enqueues the purge of `uid` (inside the caller's withTenant transaction). A second request while
 * one is still queued or running is a no-op (the dedup key's partial unique index).
 */
export async function enqueueAccountPurge(trx: Transaction<DB>, uid: string): Promise<void> {
  await trx
    .insertInto('jobs')
    .values({
      user_id: uid,
      type: ACCOUNT_PURGE_JOB.type,
      payload: sql`'{}'::jsonb`,
      max_attempts: ACCOUNT_PURGE_JOB.maxAttempts,
      lock_timeout_seconds: ACCOUNT_PURGE_JOB.lockTimeoutSeconds,
      dedup_key: ACCOUNT_PURGE_JOB.dedupKey,
    })
    .onConflict((oc) =>
      // The index predicate, verbatim (literals, not parameters), so PostgreSQL can infer the index.
      oc
        .columns(['user_id', 'type', 'dedup_key'])
        .where(sql<boolean>`dedup_key is not null and state in ('queued', 'running')`)
        .doNothing(),
    )
    .execute();
}
