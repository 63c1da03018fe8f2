import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import {
  createSecretsDir,
  createTestDatabase,
  createTestRedis,
  type EventStreamClient,
  lineCollector,
  openEventStream,
  type SecretsDir,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';
import { mintUserToken, type TokenKeys, tokenKeySecrets, tokenKeysFrom } from '@tenantmesh/user-token';
import Redis from 'ioredis';
import { buildApp } from '../../src/app';
import { type StreamSettings, streamSettings, tokenKeyPlan } from '../../src/config';
import { type EventsDeps, sharedState, startBackgroundWork } from '../../src/deps';
import { StreamRegistry } from '../../src/domain/stream-registry';
import { createEventsMetrics } from '../../src/events-metrics';

export interface EventsReplica {
  deps: EventsDeps;
  url: string;
  logs: string[];
  stream(uid: string, headers?: Record<string, string>, query?: string): EventStreamClient;
  publish(uid: string, body: unknown, issuer?: 'gateway' | 'jobs'): Promise<Response>;
  close(): Promise<void>;
}

export interface EventsContext {
  testDb: TestDatabase;
  owner: Database;
  redis?: TestRedis;
  secrets: SecretsDir;
  keys: TokenKeys;
  /** Another events "replica" in this process: its own pools, Redis connections and registry. */
  replica(settings?: Partial<StreamSettings>): Promise<EventsReplica>;
  newUser(label?: string): Promise<string>;
  tokenFor(uid: string, issuer?: 'gateway' | 'jobs'): string;
  close(): Promise<void>;
}

/** Real parts: a cloned database, real Redis (or in-process state), key rings, listening servers. */
export async function createEventsContext(options: { redis?: boolean } = {}): Promise<EventsContext> {
  const testDb = await createTestDatabase();
  const owner = testDb.connectOwner();
  const redis = options.redis === false ? undefined : await createTestRedis();
  const secrets = createSecretsDir();
  secrets.writeRing('token_keys_gateway_events');
  secrets.writeRing('token_keys_jobs_events');
  const config = loadConfig(
    { SECRETS_DIR: secrets.dir },
    { settings: {}, secrets: tokenKeySecrets(tokenKeyPlan) },
  );
  const keys = tokenKeysFrom(config.secrets, tokenKeyPlan);
  const replicas: EventsReplica[] = [];
  let users = 0;
  const tokenFor = (uid: string, issuer: 'gateway' | 'jobs' = 'gateway') =>
    mintUserToken({ issuer, audience: 'events', uid, ring: keys.verifying.get(issuer)! });

  const replica = async (overrides: Partial<StreamSettings> = {}): Promise<EventsReplica> => {
    const settings = { ...streamSettings.parse({}), heartbeatMs: 25_000, ...overrides };
    const { stream, lines: logs } = lineCollector();
    const logger = createLogger({ service: 'events', level: 'debug', stream });
    const metrics = createMetrics({ service: 'events' });
    const eventsMetrics = createEventsMetrics(metrics, settings.maxStreams);
    const database = testDb.connectRuntime();
    // Keys and channels under this test file's prefix, so teardown sees anything left behind.
    const connections = redis
      ? {
          client: new Redis(redis.url, { keyPrefix: redis.prefix, maxRetriesPerRequest: 2 }),
          subscriber: redis.connect(),
          channelPrefix: redis.prefix,
        }
      : undefined;
    const deps: EventsDeps = {
      logger,
      metrics,
      eventsMetrics,
      database,
      keys,
      ...sharedState(connections, logger, eventsMetrics),
      registry: new StreamRegistry(eventsMetrics),
      settings,
      redisPing: connections ? () => connections.client.ping() : undefined,
    };
    const stopBackground = await startBackgroundWork(deps);
    const server = http.createServer(buildApp(deps));
    server.requestTimeout = 0;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const opened: EventStreamClient[] = [];
    const made: EventsReplica = {
      deps,
      url,
      logs,
      stream: (uid, headers = {}, query = '') => {
        const client = openEventStream(`${url}/events${query}`, {
          'X-User-Token': tokenFor(uid),
          ...headers,
        });
        opened.push(client);
        return client;
      },
      publish: (uid, body, issuer = 'gateway') =>
        fetch(`${url}/events`, {
          method: 'POST',
          headers: { 'X-User-Token': tokenFor(uid, issuer), 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        }),
      close: async () => {
        for (const client of opened) client.close();
        deps.registry.drain(0);
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await stopBackground();
        await deps.fanout.close();
        await deps.leases.close();
        await connections?.client.quit();
        await database.close();
      },
    };
    replicas.push(made);
    return made;
  };

  return {
    testDb,
    owner,
    redis,
    secrets,
    keys,
    replica,
    newUser: async (label = 'user') => {
      users += 1;
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', ${`${label}-${users}-${Date.now()}`}) returning id`;
      return row!.id;
    },
    tokenFor,
    close: async () => {
      for (const r of replicas.splice(0)) await r.close();
      await redis?.close();
      await owner.close();
      await testDb.drop();
      secrets.remove();
    },
  };
}
