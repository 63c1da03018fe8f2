import { withTenant } from '@tenantmesh/db';
import { sql } from 'kysely';
import type { JobsDeps } from '../deps';
import type { JobType } from '../job-types';

/**
 * Enqueues a job for `uid`. With a dedup key, an active (queued or running) job of the same user,
 * type and key is returned instead of a second one (the partial unique index decides, so two
 * racing requests cannot both insert).
 */
export async function enqueueJob(
  deps: Pick<JobsDeps, 'database'>,
  args: { uid: string; type: JobType<unknown>; payload: unknown; runAt?: Date; dedupKey?: string },
): Promise<{ id: string; deduplicated: boolean }> {
  const { uid, type } = args;
  return withTenant(deps.database.db, uid, async (trx) => {
    const inserted = await trx
      .insertInto('jobs')
      .values({
        user_id: uid,
        type: type.type,
        payload: sql`cast(${JSON.stringify(args.payload ?? {})} as text)::jsonb`,
        run_at: args.runAt,
        max_attempts: type.maxAttempts,
        lock_timeout_seconds: type.lockTimeoutSeconds,
        dedup_key: args.dedupKey ?? null,
      })
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'type', 'dedup_key'])
          .where(sql<boolean>`dedup_key is not null and state in ('queued', 'running')`)
          .doNothing(),
      )
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { id: inserted.id, deduplicated: false };
    const existing = await trx
      .selectFrom('jobs')
      .select('id')
      .where('user_id', '=', uid)
      .where('type', '=', type.type)
      .where('dedup_key', '=', args.dedupKey ?? '')
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return { id: existing.id, deduplicated: true };
  });
}
