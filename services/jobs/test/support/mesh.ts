import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type KeyRing, keyRingSecret, loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger } from '@tenantmesh/observability';
import {
  createSecretsDir,
  createTestDatabase,
  type EventStreamClient,
  lineCollector,
  openEventStream,
  randomKey,
  type SecretsDir,
  type TestDatabase,
} from '@tenantmesh/testing';
import { mintUserToken, type TokenKeyPlan, tokenKeySecrets, tokenKeysFrom } from '@tenantmesh/user-token';
import type { Express } from 'express';
// The real events and files services, by path: neither is a dependency of jobs.
import { buildApp as buildEventsApp } from '../../../events/src/app';
import { tokenKeyPlan as eventsKeyPlan, streamSettings } from '../../../events/src/config';
import { type EventsDeps, sharedState } from '../../../events/src/deps';
import { StreamRegistry } from '../../../events/src/domain/stream-registry';
import { createEventsMetrics } from '../../../events/src/events-metrics';
import { buildApp as buildFilesApp } from '../../../files/src/app';
import { tokenKeyPlan as filesKeyPlan, filesSecrets } from '../../../files/src/config';
import { createFilesMetricsFor, type FilesDeps } from '../../../files/src/deps';
import { createLocalObjectStore } from '../../../files/src/storage/local-object-store';
import { createEventsClient } from '../../src/clients/events-client';
import { createFilesClient } from '../../src/clients/files-client';
import type { FilesClient, JobContext } from '../../src/job-types';

/** jobs signs for files and events and trusts nobody (its API's gateway ring is not needed here). */
const jobsKeyPlan: TokenKeyPlan = { service: 'jobs', audiences: ['files', 'events'], trustedIssuers: [] };

export const LIMITS = {
  maxObjectBytes: 8 * 1024 * 1024,
  quotaBytes: 64 * 1024 * 1024,
  chunkBytes: 16 * 1024,
};

export interface ProgressCall {
  percent: number;
  detail?: Record<string, unknown>;
}

export interface Mesh {
  testDb: TestDatabase;
  /** The owner pool: fixtures and inspection, as an operator would. */
  owner: Database;
  /** jobs' own runtime pool (the DML-only role), what a JobContext carries. */
  runtime: Database;
  filesUrl: string;
  eventsUrl: string;
  /** The files service's local store: `<root>/<uid>/<object version id>`. */
  storeRoot: string;
  /** jobs' signing rings, loaded from the same secret files the services verify with. */
  jobsRings: { files: KeyRing; events: KeyRing };
  logs: string[];
  newUser(label?: string): Promise<string>;
  /** A files client for uid exactly as jobs builds it (issuer jobs, jobs→files ring). */
  filesFor(uid: string, pageLimit?: number): FilesClient;
  /** Stored blobs of uid in the files service's store directory (partial uploads included). */
  blobsOf(uid: string): string[];
  /** The user's stream from the start, as the gateway would open it for the user. */
  streamOf(uid: string): EventStreamClient;
  /** A JobContext for uid built from the real clients; `files` may wrap the real client. */
  contextFor(
    uid: string,
    options?: {
      type?: string;
      signal?: AbortSignal;
      files?: (real: FilesClient) => FilesClient;
      /** List page size of the real files client (small, to exercise paging cheaply). */
      pageLimit?: number;
      onProgress?: (call: ProgressCall) => void;
    },
  ): JobContext & { progressCalls: ProgressCall[] };
  close(): Promise<void>;
}

function listen(app: Express): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(app);
  server.requestTimeout = 0;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server });
    });
  });
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * The real files and events services on free ports over one cloned database (each with its own
 * runtime pool, as separate services would have), a temporary local object store, and key rings
 * in a secrets directory read by both sides: the services verify with the files jobs signs with.
 */
export async function startMesh(): Promise<Mesh> {
  const testDb = await createTestDatabase();
  const owner = testDb.connectOwner();
  const secrets: SecretsDir = createSecretsDir();
  for (const ring of [
    'token_keys_gateway_files',
    'token_keys_jobs_files',
    'token_keys_gateway_events',
    'token_keys_jobs_events',
  ]) {
    secrets.writeRing(ring);
  }
  secrets.writeRing('files_master_keys', [{ kid: 'm1', key: randomKey() }]);
  const env = { SECRETS_DIR: secrets.dir };
  const { stream, lines: logs } = lineCollector();
  const loggerFor = (service: string): Logger => createLogger({ service, level: 'warn', stream });

  // files
  const filesConfig = loadConfig(env, {
    settings: {},
    secrets: { ...tokenKeySecrets(filesKeyPlan), masterKeys: filesSecrets.masterKeys },
  });
  const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-jobs-files-'));
  const store = createLocalObjectStore({ root: storeRoot });
  const filesDatabase = testDb.connectRuntime();
  const filesMetrics = createMetrics({ service: 'files' });
  const filesDeps: FilesDeps = {
    logger: loggerFor('files'),
    metrics: filesMetrics,
    filesMetrics: createFilesMetricsFor(filesMetrics, filesDatabase),
    database: filesDatabase,
    keys: tokenKeysFrom(filesConfig.secrets, filesKeyPlan),
    store,
    masterKeys: filesConfig.secrets.masterKeys as KeyRing,
    limits: LIMITS,
  };
  const files = await listen(buildFilesApp(filesDeps));

  // events (single node: in-process fan-out and leases)
  const eventsConfig = loadConfig(env, { settings: {}, secrets: tokenKeySecrets(eventsKeyPlan) });
  const eventsKeys = tokenKeysFrom(eventsConfig.secrets, eventsKeyPlan);
  const settings = { ...streamSettings.parse({}), heartbeatMs: 25_000 };
  const eventsLogger = loggerFor('events');
  const eventsMetricsBase = createMetrics({ service: 'events' });
  const eventsMetrics = createEventsMetrics(eventsMetricsBase, settings.maxStreams);
  const eventsDatabase = testDb.connectRuntime();
  const eventsDeps: EventsDeps = {
    logger: eventsLogger,
    metrics: eventsMetricsBase,
    eventsMetrics,
    database: eventsDatabase,
    keys: eventsKeys,
    ...sharedState(undefined, eventsLogger, eventsMetrics),
    registry: new StreamRegistry(eventsMetrics),
    settings,
  };
  const events = await listen(buildEventsApp(eventsDeps));

  // jobs: its own pool and its own signing rings (secret files token_keys_jobs_files/_events)
  const jobsConfig = loadConfig(env, {
    settings: {},
    secrets: {
      files: keyRingSecret('token_keys_jobs_files'),
      events: keyRingSecret('token_keys_jobs_events'),
    },
  });
  const jobsKeys = tokenKeysFrom(
    { token_keys_jobs_files: jobsConfig.secrets.files, token_keys_jobs_events: jobsConfig.secrets.events },
    jobsKeyPlan,
  );
  const jobsRings = { files: jobsKeys.signing.get('files')!, events: jobsKeys.signing.get('events')! };
  const runtime = testDb.connectRuntime();
  const jobsLogger = loggerFor('jobs');
  const streams: EventStreamClient[] = [];
  let users = 0;

  const filesFor = (uid: string, pageLimit?: number) =>
    createFilesClient({ baseUrl: files.url, ring: jobsRings.files, uid, timeoutMs: 10_000, pageLimit });

  return {
    testDb,
    owner,
    runtime,
    filesUrl: files.url,
    eventsUrl: events.url,
    storeRoot,
    jobsRings,
    logs,
    newUser: async (label = 'user') => {
      users += 1;
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', ${`${label}-${users}-${randomUUID()}`})
        returning id`;
      return row!.id;
    },
    filesFor,
    blobsOf: (uid) => {
      const dir = path.join(storeRoot, uid);
      return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    },
    streamOf: (uid) => {
      const token = mintUserToken({
        issuer: 'gateway',
        audience: 'events',
        uid,
        ring: eventsKeys.verifying.get('gateway')!,
      });
      const client = openEventStream(`${events.url}/events?lastEventId=0`, { 'X-User-Token': token });
      streams.push(client);
      return client;
    },
    contextFor: (uid, options = {}) => {
      const jobId = randomUUID();
      const type = options.type ?? 'test.job';
      const real = filesFor(uid, options.pageLimit);
      const eventsClient = createEventsClient({ baseUrl: events.url, ring: jobsRings.events, uid });
      const progressCalls: ProgressCall[] = [];
      return {
        jobId,
        type,
        uid,
        attempt: 1,
        signal: options.signal ?? new AbortController().signal,
        files: options.files ? options.files(real) : real,
        events: eventsClient,
        database: runtime,
        logger: jobsLogger,
        progressCalls,
        // As the worker's: publish job.progress to the user's stream, best effort.
        progress: async (percent, detail) => {
          const call = detail === undefined ? { percent } : { percent, detail };
          progressCalls.push(call);
          options.onProgress?.(call);
          await eventsClient
            .publish('job.progress', { jobId, type, percent, ...detail })
            .catch((error: unknown) => jobsLogger.warn('progress not published', { err: error }));
        },
      };
    },
    close: async () => {
      for (const client of streams.splice(0)) client.close();
      eventsDeps.registry.drain(0);
      await stop(events.server);
      await stop(files.server);
      await eventsDeps.fanout.close();
      await eventsDeps.leases.close();
      await store.close();
      await Promise.all([eventsDatabase.close(), filesDatabase.close(), runtime.close(), owner.close()]);
      await testDb.drop();
      secrets.remove();
      fs.rmSync(storeRoot, { recursive: true, force: true });
    },
  };
}
