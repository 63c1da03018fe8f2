import path from 'node:path';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import {
  connectAdmin,
  createEmptyDatabase,
  createSecretsDir,
  createTestRedis,
  type EventStreamClient,
  freePort,
  openEventStream,
  type SecretsDir,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';
import { mintUserToken } from '@tenantmesh/user-token';

const MAIN = path.join(__dirname, '..', '..', 'dist', 'main.js');

export interface EventsProcess {
  service: ServiceProcess;
  url: string;
  stream(uid: string, headers?: Record<string, string>): EventStreamClient;
  publish(uid: string, body: unknown): Promise<Response>;
  metrics(): Promise<string>;
}

/** events replicas as real processes (dist/main.js) on one database and one Redis. */
export interface EventsCluster {
  db: TestDatabase;
  redis: TestRedis;
  secrets: SecretsDir;
  start(env?: Record<string, string>): Promise<EventsProcess>;
  newUsers(count: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function createEventsCluster(): Promise<EventsCluster> {
  const db = await createEmptyDatabase();
  const redis = await createTestRedis();
  const secrets = createSecretsDir();
  const ringOf = (entries: ReturnType<SecretsDir['writeRing']>, name: string) =>
    new KeyRing(name, name, parseKeyRing(name, name, JSON.stringify({ keys: entries })));
  const gateway = ringOf(secrets.writeRing('token_keys_gateway_events'), 'gateway');
  secrets.writeRing('token_keys_jobs_events');
  const started: EventsProcess[] = [];
  const token = (uid: string) => mintUserToken({ issuer: 'gateway', audience: 'events', uid, ring: gateway });

  const start = async (env: Record<string, string> = {}): Promise<EventsProcess> => {
    const port = await freePort();
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(port),
      REDIS_URL: redis.url,
      EVENTS_REDIS_PREFIX: redis.prefix,
      LOG_LEVEL: 'warn',
      ...env,
    });
    const url = `http://127.0.0.1:${port}`;
    const made: EventsProcess = {
      service,
      url,
      stream: (uid, headers = {}) =>
        openEventStream(`${url}/events`, { 'X-User-Token': token(uid), ...headers }),
      publish: (uid, body) =>
        fetch(`${url}/events`, {
          method: 'POST',
          headers: { 'X-User-Token': token(uid), 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        }),
      metrics: async () => (await fetch(`${url}/metrics`)).text(),
    };
    started.push(made);
    await service.ready(port);
    return made;
  };

  return {
    db,
    redis,
    secrets,
    // Replicas may boot together: migrations run under an advisory lock.
    start,
    newUsers: async (count) => {
      const admin = connectAdmin(db.url);
      try {
        const rows = await admin<{ id: string }[]>`
          insert into user_sessions (provider, subject)
          select 'test', 'u-' || g || '-' || gen_random_uuid() from generate_series(1, ${count}) g returning id`;
        return rows.map((r) => r.id);
      } finally {
        await admin.end();
      }
    },
    close: async () => {
      for (const p of started) {
        if (p.service.child.exitCode === null && p.service.child.signalCode === null) {
          p.service.child.kill('SIGKILL');
          await p.service.exited;
        }
      }
      await redis.close();
      await db.drop();
      secrets.remove();
    },
  };
}
