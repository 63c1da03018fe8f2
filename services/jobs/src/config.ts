import { type Env, envBoolean, httpSettings, loadConfig, observabilitySettings } from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';
import { z } from 'zod';

export const SERVICE = 'jobs';
export const DEFAULT_PORT = 3004;

export type JobsMode = 'all' | 'api' | 'worker';

/**
 * The API accepts users' tokens from the gateway; workers sign their own for files and events.
 * Each role holds only the rings it uses, so an API pod cannot mint tokens to files or events.
 */
export function tokenKeyPlanFor(mode: JobsMode): TokenKeyPlan {
  return {
    service: SERVICE,
    audiences: mode === 'api' ? [] : ['files', 'events'],
    trustedIssuers: mode === 'worker' ? [] : ['gateway'],
  };
}

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const upstreamUrl = z
  .url()
  .refine(
    (u) => /^https?:\/\//.test(u) && !new URL(u).username && !new URL(u).password,
    'an http(s) URL without credentials',
  )
  .optional();

export const queueSettings = z
  .object({
    JOBS_MODE: z.enum(['all', 'api', 'worker']).default('all'),
    JOBS_CONCURRENCY: int(1, 256, 4),
    // Jobs claimed ahead of free slots; the concurrency unless set.
    JOBS_PREFETCH: z.coerce.number().int().min(0).max(1000).optional(),
    JOBS_POLL_INTERVAL_MS: int(10, 60_000, 1000),
    JOBS_HEARTBEAT_MS: int(50, 60_000, 1000),
    JOBS_REAP_INTERVAL_MS: int(50, 600_000, 15_000),
    JOBS_SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000),
    FILES_URL: upstreamUrl,
    EVENTS_URL: upstreamUrl,
    JOBS_DIAGNOSTIC_TYPES: envBoolean.default(false),
  })
  .refine((e) => e.JOBS_MODE === 'api' || (e.FILES_URL !== undefined && e.EVENTS_URL !== undefined), {
    message: 'FILES_URL and EVENTS_URL are required unless JOBS_MODE=api',
    path: ['FILES_URL'],
  })
  .transform((e) => ({
    mode: e.JOBS_MODE,
    concurrency: e.JOBS_CONCURRENCY,
    prefetch: e.JOBS_PREFETCH ?? e.JOBS_CONCURRENCY,
    pollIntervalMs: e.JOBS_POLL_INTERVAL_MS,
    heartbeatMs: e.JOBS_HEARTBEAT_MS,
    reapIntervalMs: e.JOBS_REAP_INTERVAL_MS,
    shutdownGraceMs: e.JOBS_SHUTDOWN_GRACE_MS,
    filesUrl: e.FILES_URL ?? '',
    eventsUrl: e.EVENTS_URL ?? '',
    diagnosticTypes: e.JOBS_DIAGNOSTIC_TYPES,
  }));

export function loadJobsConfig(env: Env) {
  // The mode decides which key rings to load; an invalid value is reported by the schema below.
  const mode = (['all', 'api', 'worker'] as const).find((m) => m === env.JOBS_MODE) ?? 'all';
  return loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
      queue: queueSettings,
    },
    secrets: { ...databaseSecrets, ...tokenKeySecrets(tokenKeyPlanFor(mode)) },
  });
}

export type JobsConfig = ReturnType<typeof loadJobsConfig>;
