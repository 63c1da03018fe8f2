import { ACCOUNT_PURGE_JOB, withTenant } from '@tenantmesh/db';
import { z } from 'zod';
import { defineJobType, type JobContext } from '../job-types';

const purgePayload = z.object({}).strict();
type PurgePayload = z.infer<typeof purgePayload>;

/** Passes in a row that removed nothing while objects are still listed: someone else is racing us. */
const MAX_FRUITLESS_PASSES = 3;

/**
 * Deletes a user's live data: first every object through the files service (the bytes live outside
 * PostgreSQL, so a cascade alone would orphan them), then the user's root row, from which every
 * tenant table cascades — this job's own row included, so the worker's final write finds nothing.
 * Idempotent from any crash point: the list is re-read from the start each pass, a 404 on delete
 * is "already gone", and once the row is gone the list is empty and the delete deletes nothing.
 * The uid is ctx.uid and nothing else: the files client and withTenant are both bound to it.
 */
export const accountPurge = defineJobType<PurgePayload>({
  // The same settings auth enqueues it with (one source: @tenantmesh/db).
  type: ACCOUNT_PURGE_JOB.type,
  payload: purgePayload,
  userCreatable: false,
  maxAttempts: ACCOUNT_PURGE_JOB.maxAttempts,
  lockTimeoutSeconds: ACCOUNT_PURGE_JOB.lockTimeoutSeconds,
  backoff: { baseMs: 5000, maxMs: 3_600_000 },
  run: runPurge,
});

async function runPurge(ctx: JobContext): Promise<{ objectsRemoved: number }> {
  const { files, signal, uid } = ctx;
  let objectsRemoved = 0;
  let fruitless = 0;
  for (;;) {
    signal.throwIfAborted();
    const { objects } = await files.list();
    if (objects.length === 0) break;
    let removedThisPass = 0;
    for (const object of objects) {
      signal.throwIfAborted();
      if (await files.remove(object.name)) removedThisPass += 1;
    }
    objectsRemoved += removedThisPass;
    fruitless = removedThisPass === 0 ? fruitless + 1 : 0;
    if (fruitless >= MAX_FRUITLESS_PASSES) {
      // Every listed object was "already gone" several times over: never spin; fail and retry later.
      throw new Error('account purge: listed objects keep disappearing before their delete');
    }
  }
  signal.throwIfAborted();
  const [deleted] = await withTenant(ctx.database.db, uid, (trx) =>
    trx.deleteFrom('user_sessions').where('id', '=', uid).execute(),
  );
  const rows = Number(deleted?.numDeletedRows ?? 0n);
  ctx.logger.info('account purged', { jobId: ctx.jobId, uid, objectsRemoved, userRowDeleted: rows > 0 });
  return { objectsRemoved };
}
