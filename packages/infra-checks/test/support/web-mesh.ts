import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createSecretsDir,
  createTestDatabase,
  createTestRedis,
  freePort,
  type LocalOAuthProvider,
  randomKey,
  type SecretsDir,
  type ServiceProcess,
  startLocalOAuthProvider,
  startServiceProcess,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';
import { createSelfSignedCertificate } from './edge-certificate';
import { type Edge, startEdge } from './edge-nginx';

const SERVICES_DIR = path.resolve(__dirname, '../../../../services');
const mainOf = (service: string) => path.join(SERVICES_DIR, service, 'dist', 'main.js');

const RINGS = [
  'cookie_keys',
  'token_keys_gateway_auth',
  'token_keys_gateway_files',
  'token_keys_gateway_events',
  'token_keys_gateway_jobs',
  'token_keys_jobs_files',
  'token_keys_jobs_events',
];

export interface WebMesh {
  /** The edge's https origin, what the browser opens (a self-signed certificate). */
  origin: string;
  provider: LocalOAuthProvider;
  edge: Edge;
  /** Everything every process printed so far, by name. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The whole mesh a browser meets: nginx (the committed infra/edge config, TLS) → the gateway,
 * which serves the built web client and proxies to auth, files, events and jobs, all real
 * processes from their dist/main.js, on one test database and Redis, with a local OAuth provider
 * for sign-in. Run `pnpm build` first (pnpm test does).
 */
export async function startWebMesh(): Promise<WebMesh> {
  const db: TestDatabase = await createTestDatabase();
  const redis: TestRedis = await createTestRedis();
  const secrets: SecretsDir = createSecretsDir();
  for (const ring of RINGS) secrets.writeRing(ring);
  secrets.writeRing('files_master_keys', [{ kid: 'm1', key: randomKey() }]);
  secrets.writeText('google_client_secret', 'local-secret');
  const filesRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-web-files-'));
  const provider = await startLocalOAuthProvider(await freePort());
  const ports = {
    gateway: await freePort(),
    auth: await freePort(),
    files: await freePort(),
    events: await freePort(),
    jobs: await freePort(),
    https: await freePort(),
    http: await freePort(),
  };
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-web-cert-'));
  const certificate = createSelfSignedCertificate(certDir);
  const edge = await startEdge({
    httpsPort: ports.https,
    httpPort: ports.http,
    upstream: `127.0.0.1:${ports.gateway}`,
    certificate,
    rateLimit: '100r/s',
    rateBurst: 200,
  });
  const url = (service: keyof typeof ports) => `http://127.0.0.1:${ports[service]}`;
  const common = {
    DATABASE_URL: db.url,
    DATABASE_MIGRATE_ON_BOOT: 'false',
    SECRETS_DIR: secrets.dir,
    REDIS_URL: redis.url,
    PUBLIC_ORIGIN: edge.origin,
    LOG_LEVEL: 'warn',
  };
  const processes: Record<string, ServiceProcess> = {
    auth: startServiceProcess(mainOf('auth'), {
      ...common,
      PORT: String(ports.auth),
      GOOGLE_CLIENT_ID: 'tenantmesh-test',
      GOOGLE_AUTHORIZATION_URL: `${provider.url}/authorize`,
      GOOGLE_TOKEN_URL: `${provider.url}/token`,
      GOOGLE_USERINFO_URL: `${provider.url}/userinfo`,
    }),
    files: startServiceProcess(mainOf('files'), {
      ...common,
      PORT: String(ports.files),
      FILES_ROOT: filesRoot,
    }),
    events: startServiceProcess(mainOf('events'), { ...common, PORT: String(ports.events) }),
    jobs: startServiceProcess(mainOf('jobs'), {
      ...common,
      PORT: String(ports.jobs),
      FILES_URL: url('files'),
      EVENTS_URL: url('events'),
      JOBS_POLL_INTERVAL_MS: '200',
    }),
    gateway: startServiceProcess(mainOf('gateway'), {
      ...common,
      PORT: String(ports.gateway),
      TRUST_PROXY_HOPS: '1',
      AUTH_URL: url('auth'),
      FILES_URL: url('files'),
      EVENTS_URL: url('events'),
      JOBS_URL: url('jobs'),
    }),
  };
  const output = () =>
    [
      ...Object.entries(processes).map(([name, p]) => `--- ${name} ---\n${p.output()}`),
      `--- edge ---\n${edge.output()}`,
    ].join('\n');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const p of Object.values(processes)) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all(Object.values(processes).map((p) => p.exited));
      await edge.stop();
      await provider.stop();
      await redis.close();
      await db.drop();
      secrets.remove();
      fs.rmSync(filesRoot, { recursive: true, force: true });
      fs.rmSync(certDir, { recursive: true, force: true });
    })());
  try {
    await Promise.all(
      Object.entries(processes).map(([name, p]) => p.ready(ports[name as keyof typeof ports], 60_000)),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin: edge.origin, provider, edge, output, stop };
}
