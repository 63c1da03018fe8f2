import { connectDatabase, type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import { type TokenKeys, tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import { type JobsConfig, type JobsMode, SERVICE, tokenKeyPlanFor } from './config';
import { JOB_TYPES, jobTypesByName } from './handlers';
import { diagnosticsSleep } from './handlers/diagnostics';
import type { JobType } from './job-types';
import { createJobsMetrics, type JobsMetrics } from './jobs-metrics';
import { queueStore } from './queue/queue-store';
import { Worker } from './queue/worker';

export interface JobsDeps {
  logger: Logger;
  metrics: Metrics;
  jobsMetrics: JobsMetrics;
  /** The DML-only runtime pool. */
  database: Database;
  keys: TokenKeys;
  types: ReadonlyMap<string, JobType<unknown>>;
  /** api and all serve /jobs; a worker-only process serves just health and metrics. */
  mode: JobsMode;
}

export function createJobsMetricsFor(
  metrics: Metrics,
  database: Database,
  types: ReadonlyMap<string, unknown>,
): JobsMetrics {
  return createJobsMetrics(metrics, () => queueStore.countByState(database.db), [...types.keys()]);
}

/**
 * The reaper takes back a running job once its worker's last heartbeat is older than the job's
 * lock timeout, so a live worker must beat at least twice within the shortest one.
 */
export function assertHeartbeatFitsLocks(
  heartbeatMs: number,
  types: ReadonlyMap<string, JobType<unknown>>,
): void {
  for (const type of types.values()) {
    if (heartbeatMs * 2 > type.lockTimeoutSeconds * 1000) {
      throw new Error(
        `JOBS_HEARTBEAT_MS=${heartbeatMs} is too slow for ${type.type} (lock timeout ${type.lockTimeoutSeconds} s): ` +
          'a live worker must heart-beat at least twice per lock timeout, or the reaper takes its jobs',
      );
    }
  }
}

/** Opens everything main.ts needs: migrates as the owner, then connects as the runtime role. */
export async function connectJobsDeps(
  config: JobsConfig,
): Promise<JobsDeps & { worker?: Worker; close(graceMs: number): Promise<void> }> {
  const logger = createLogger({
    service: SERVICE,
    level: config.observability.logLevel,
    format: config.observability.logFormat,
  });
  const metrics = createMetrics({ service: SERVICE });
  const database = await openServiceDatabase(config.db, config.secrets, {
    service: SERVICE,
    onMigrated: (result) => logger.info('migrations done', result),
  });
  const { queue } = config;
  const keys = tokenKeysFrom(config.secrets, tokenKeyPlanFor(queue.mode));
  const stopWatching = watchTokenKeys(keys, config.observability.secretReloadIntervalMs);
  const openWorkerPool = () =>
    connectDatabase({
      url: config.db.url,
      user: config.db.runtimeUser,
      password: config.secrets.dbRuntimePassword,
      max: queue.concurrency + 2,
      name: `${SERVICE}-worker`,
    });
  const types = jobTypesByName(queue.diagnosticTypes ? [...JOB_TYPES, diagnosticsSleep] : JOB_TYPES);
  const jobsMetrics = createJobsMetricsFor(metrics, database, types);
  if (queue.mode !== 'api') assertHeartbeatFitsLocks(queue.heartbeatMs, types);
  const worker =
    queue.mode === 'api'
      ? undefined
      : new Worker({
          // Its own pool, which it may swap for a fresh one after a database restart.
          database: openWorkerPool(),
          reopen: openWorkerPool,
          logger,
          metrics: jobsMetrics,
          types,
          concurrency: queue.concurrency,
          prefetch: queue.prefetch,
          pollIntervalMs: queue.pollIntervalMs,
          heartbeatMs: queue.heartbeatMs,
          reapIntervalMs: queue.reapIntervalMs,
          upstreams: {
            filesUrl: queue.filesUrl,
            eventsUrl: queue.eventsUrl,
            filesRing: keys.signing.get('files')!,
            eventsRing: keys.signing.get('events')!,
          },
        });
  await worker?.start();
  return {
    logger,
    metrics,
    jobsMetrics,
    database,
    keys,
    types,
    mode: queue.mode,
    worker,
    close: async (graceMs) => {
      await worker?.stop(graceMs);
      stopWatching();
      await database.close();
    },
  };
}
