import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type KeyRing, loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger } from '@tenantmesh/observability';
import {
  MemorySessionCache,
  RedisSessionCache,
  type SessionCache,
  SessionService,
  sessionSecrets,
} from '@tenantmesh/sessions';
import {
  createSecretsDir,
  createTestDatabase,
  createTestRedis,
  type SecretsDir,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';
import { tokenKeySecrets, tokenKeysFrom, verifyUserToken } from '@tenantmesh/user-token';
import type { Express } from 'express';
import type Redis from 'ioredis';
import { buildApp } from '../../src/app';
import { tokenKeyPlanFor } from '../../src/config';
import type { GatewayDeps } from '../../src/deps';
import { createUpstreamAgents, type UpstreamAgents } from '../../src/proxy/upstream-agents';
import { securityTxtFrom } from '../../src/routes/security-txt/security-txt';
import { UPSTREAMS, type Upstream } from '../../src/settings/upstream-settings';

export const PUBLIC_ORIGIN = 'http://localhost:3000';
export const POLICY = { idleTtlSeconds: 3600, absoluteTtlSeconds: 86_400 };

/** Discards log lines, unless GATEWAY_TEST_LOGS=1 (then they go to stdout). */
export function quietLogger(service = 'gateway'): Logger {
  if (process.env.GATEWAY_TEST_LOGS === '1') return createLogger({ service, level: 'debug' });
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  return createLogger({ service, level: 'error', stream: sink });
}

export interface GatewayOptions {
  urls?: Partial<Record<Upstream, string>>;
  perMinute?: number;
  authPerMinute?: number;
  trustProxyHops?: number;
  timeoutMs?: number;
  /** Share counters and the session cache through this file's Redis. */
  redis?: boolean;
  /** Gateways given the same one share rate-limit counters; distinct ones start from zero. */
  rateLimitPrefix?: string;
  /** Overrides the session cache (e.g. a Redis that does not answer). */
  sessionCache?: SessionCache;
  /** A built web client to serve at `/`. */
  webRoot?: string;
}

export interface Harness {
  testDb: TestDatabase;
  owner: Database;
  runtime: Database;
  secrets: SecretsDir;
  cookieRing: KeyRing;
  /** gateway→<upstream> rings, as the upstreams would hold them to verify. */
  tokenRings: ReadonlyMap<string, KeyRing>;
  redis?: TestRedis;
  /** A user row, as auth's sign-in would create it. */
  createUser(subject?: string): Promise<string>;
  /** A real session for uid: the `name=value` to send in a Cookie header. */
  signIn(uid: string): Promise<string>;
  /** A SessionService like auth's (shares the cache when the harness has Redis). */
  sessionService(): SessionService;
  buildGateway(options?: GatewayOptions): Express;
  /** The uid and audience a minted token verifies to, for the given upstream. */
  verifyToken(token: string, audience: Upstream): { uid: string; issuer: string };
  close(): Promise<void>;
}

export async function openHarness(options: { redis?: boolean } = {}): Promise<Harness> {
  const testDb = await createTestDatabase();
  const owner = testDb.connectOwner();
  const runtime = testDb.connectRuntime();
  const secrets = createSecretsDir();
  secrets.writeRing('cookie_keys');
  const plan = tokenKeyPlanFor(UPSTREAMS);
  for (const upstream of UPSTREAMS) secrets.writeRing(`token_keys_gateway_${upstream}`);
  const config = loadConfig(
    { SECRETS_DIR: secrets.dir },
    { settings: {}, secrets: { ...sessionSecrets, ...tokenKeySecrets(plan) } },
  );
  const keys = tokenKeysFrom(config.secrets, plan);
  const redis = options.redis ? await createTestRedis() : undefined;
  const connections: Redis[] = [];
  const agents: UpstreamAgents[] = [];
  const memoryCache = new MemorySessionCache();
  let users = 0;

  const cache = (): SessionCache => {
    if (!redis) return memoryCache;
    const client = redis.connect();
    connections.push(client);
    return new RedisSessionCache(client, `${redis.prefix}sess:`);
  };
  const sessionService = () => new SessionService(runtime.db, cache(), config.secrets.cookieKeys, POLICY);

  return {
    testDb,
    owner,
    runtime,
    secrets,
    cookieRing: config.secrets.cookieKeys,
    tokenRings: keys.signing,
    redis,
    createUser: async (subject) => {
      users += 1;
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', ${subject ?? `user-${users}-${Date.now()}`})
        returning id`;
      return row!.id;
    },
    signIn: async (uid) => {
      const { setCookie } = await sessionService().start(uid);
      return setCookie.split(';')[0]!;
    },
    sessionService,
    buildGateway: (gateway = {}) => {
      const upstreamAgents = createUpstreamAgents();
      agents.push(upstreamAgents);
      const shared = gateway.redis ?? options.redis;
      const client = shared && redis ? redis.connect() : undefined;
      if (client) connections.push(client);
      const urls = gateway.urls ?? {};
      const deps: GatewayDeps = {
        logger: quietLogger(),
        metrics: createMetrics({ service: 'gateway' }),
        database: runtime,
        sessions: new SessionService(
          runtime.db,
          gateway.sessionCache ?? cache(),
          config.secrets.cookieKeys,
          POLICY,
        ),
        upstreams: {
          urls,
          timeoutMs: gateway.timeoutMs ?? 5000,
          signingRings: new Map([...keys.signing].filter(([name]) => name in urls)),
          agents: upstreamAgents,
        },
        rateLimit: {
          perMinute: gateway.perMinute ?? 10_000,
          authPerMinute: gateway.authPerMinute ?? 10_000,
          redis: client,
          redisPrefix: redis ? `${redis.prefix}${gateway.rateLimitPrefix ?? ''}` : undefined,
        },
        edge: { publicOrigin: PUBLIC_ORIGIN, trustProxyHops: gateway.trustProxyHops ?? 0 },
        securityTxt: securityTxtFrom({ contact: 'mailto:security@example.com' }, PUBLIC_ORIGIN),
        ...(gateway.webRoot ? { webRoot: gateway.webRoot } : {}),
      };
      return buildApp(deps);
    },
    verifyToken: (token, audience) => {
      const verified = verifyUserToken(token, {
        audience,
        trustedIssuers: ['gateway'],
        keys: { verifying: new Map([['gateway', keys.signing.get(audience)!]]) },
      });
      return { uid: verified.uid, issuer: verified.issuer };
    },
    close: async () => {
      for (const a of agents) a.destroy();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      await redis?.close();
      await runtime.close();
      await owner.close();
      await testDb.drop();
      secrets.remove();
    },
  };
}

/** Listens on a free port; for tests that need a real socket (streams, raw headers). */
export async function listenOn(
  app: Express | http.RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
