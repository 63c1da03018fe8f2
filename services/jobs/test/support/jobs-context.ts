import { loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import {
  createSecretsDir,
  createTestDatabase,
  lineCollector,
  type SecretsDir,
  type TestDatabase,
} from '@tenantmesh/testing';
import { mintUserToken, type TokenKeys, tokenKeySecrets, tokenKeysFrom } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { buildApp } from '../../src/app';
import { tokenKeyPlanFor } from '../../src/config';
import { createJobsMetricsFor, type JobsDeps } from '../../src/deps';
import type { JobType } from '../../src/job-types';
import { Worker, type WorkerOptions } from '../../src/queue/worker';

export interface JobsContext {
  app: Express;
  deps: JobsDeps;
  testDb: TestDatabase;
  owner: Database;
  secrets: SecretsDir;
  logs: string[];
  /** A worker with its own pool (another "process"); stopped by close(). */
  worker(
    options?: Partial<Omit<WorkerOptions, 'database' | 'logger' | 'metrics' | 'types' | 'upstreams'>>,
  ): Promise<Worker>;
  newUser(label?: string): Promise<string>;
  tokenFor(uid: string): string;
  close(): Promise<void>;
}

/**
 * The jobs API and workers over real PostgreSQL with the given job types. Workers get upstream
 * URLs nobody listens on: the test types never call files or events (handlers' tests do, with
 * the real services), and the job.succeeded events they try to send are best effort.
 */
export async function createJobsContext(types: readonly JobType<never>[]): Promise<JobsContext> {
  const testDb = await createTestDatabase();
  const owner = testDb.connectOwner();
  const database = testDb.connectRuntime();
  const secrets = createSecretsDir();
  for (const name of ['token_keys_gateway_jobs', 'token_keys_jobs_files', 'token_keys_jobs_events']) {
    secrets.writeRing(name);
  }
  const plan = tokenKeyPlanFor('all');
  const config = loadConfig({ SECRETS_DIR: secrets.dir }, { settings: {}, secrets: tokenKeySecrets(plan) });
  const keys: TokenKeys = tokenKeysFrom(config.secrets, plan);
  const { stream, lines: logs } = lineCollector();
  const logger = createLogger({ service: 'jobs', level: 'debug', stream });
  const metrics = createMetrics({ service: 'jobs' });
  const byName = new Map(types.map((t) => [t.type, t as unknown as JobType<unknown>]));
  const deps: JobsDeps = {
    logger,
    metrics,
    jobsMetrics: createJobsMetricsFor(metrics, database, byName),
    database,
    keys,
    types: byName,
    mode: 'all',
  };
  const workers: { worker: Worker; pool: Database }[] = [];
  let users = 0;
  return {
    app: buildApp(deps),
    deps,
    testDb,
    owner,
    secrets,
    logs,
    worker: async (options = {}) => {
      const pool = testDb.connectRuntime();
      const worker = new Worker({
        database: pool,
        logger,
        metrics: deps.jobsMetrics,
        types: byName,
        concurrency: 4,
        prefetch: 0,
        pollIntervalMs: 100,
        heartbeatMs: 100,
        reapIntervalMs: 100,
        upstreams: {
          filesUrl: 'http://127.0.0.1:9',
          eventsUrl: 'http://127.0.0.1:9',
          filesRing: keys.signing.get('files')!,
          eventsRing: keys.signing.get('events')!,
        },
        ...options,
      });
      await worker.start();
      workers.push({ worker, pool });
      return worker;
    },
    newUser: async (label = 'user') => {
      users += 1;
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', ${`${label}-${users}`}) returning id`;
      return row!.id;
    },
    tokenFor: (uid) =>
      mintUserToken({ issuer: 'gateway', audience: 'jobs', uid, ring: keys.verifying.get('gateway')! }),
    close: async () => {
      for (const { worker, pool } of workers.splice(0)) {
        await worker.stop(0);
        await pool.close();
      }
      await database.close();
      await owner.close();
      await testDb.drop();
      secrets.remove();
    },
  };
}
