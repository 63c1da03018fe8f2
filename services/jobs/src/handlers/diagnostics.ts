import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineJobType } from '../job-types';

/**
 * `diagnostics.sleep`: waits `ms`, then succeeds (or fails when `fail` is set). Registered only
 * with JOBS_DIAGNOSTIC_TYPES=true: operators use it to see the queue work end to end, and the
 * fault tests use it (kill -9 mid-job, database restarts, SIGTERM) against real processes. Its
 * short lock timeout lets the reaper be seen in seconds.
 */
export const diagnosticsSleep = defineJobType({
  type: 'diagnostics.sleep',
  payload: z.object({ ms: z.number().int().min(0).max(600_000), fail: z.boolean().optional() }).strict(),
  userCreatable: true,
  maxAttempts: 3,
  lockTimeoutSeconds: 3,
  backoff: { baseMs: 100, maxMs: 1000 },
  run: async (ctx, payload) => {
    await sleep(payload.ms, undefined, { signal: ctx.signal });
    if (payload.fail) throw new Error('diagnostics.sleep asked to fail');
    return { slept: payload.ms, attempt: ctx.attempt };
  },
});
