// `pnpm start`: the whole mesh on one machine with nothing but Node.
//   - dev secrets generated into .dev/secrets (mode 0600, git-ignored, kept between runs)
//   - PostgreSQL: DATABASE_URL if you set one (roles must exist: see docs/runbook.md), else
//     embedded Postgres with its data in .dev/pgdata (kept between runs)
//   - every service in services/*, logs prefixed on the console; Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapDatabase, connectSql, DEFAULT_RUNTIME_LOGIN } from '@tenantmesh/db';
import { ensureDevSecrets, readDevSecret } from './dev-secrets';
import { type RunningPostgres, startEmbeddedPostgres, untraversableParent } from './embedded-postgres';
import { isListening } from './free-port';
import { DEV_IDENTITY, startLocalOAuthProvider } from './local-oauth-provider';
import { startRedisServer } from './redis-server';
import { type DevService, discoverServices } from './services';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const STATE_DIR = path.resolve(process.env.DEV_STATE_DIR || path.join(ROOT, '.dev'));
const SECRETS_DIR = path.join(STATE_DIR, 'secrets');
const PG_PORT = Number(process.env.DEV_PG_PORT || 54329);
const PORT_BASE = Number(process.env.DEV_PORT_BASE || 3000);
const DATABASE = 'tenantmesh';

const say = (line: string) => process.stdout.write(`\x1b[1m[devstack]\x1b[0m ${line}\n`);

const children = new Map<string, ChildProcess>();
let pg: RunningPostgres | undefined;
let stopping = false;
let stopOAuth: (() => Promise<void>) | undefined;
let stopRedis: (() => Promise<void>) | undefined;

/** Stops every child service, then PostgreSQL; used by Ctrl-C and by a failed start alike. */
async function stopEverything(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await stopOAuth?.();
  await stopRedis?.();
  await pg?.stop();
  say('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const created = ensureDevSecrets(SECRETS_DIR);
  if (created.length) say(`generated dev secrets in ${SECRETS_DIR}: ${created.join(', ')}`);

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    pg = await startPostgres();
    databaseUrl = `postgres://127.0.0.1:${pg.port}/${DATABASE}`;
  }

  const redisUrl = process.env.REDIS_URL || (await startRedis());
  const oauth = await startLocalOAuthProvider(PORT_BASE + 9);
  say(
    `local OAuth/OIDC provider at ${oauth.url} (signs everyone in as ${DEV_IDENTITY.name} <${DEV_IDENTITY.email}>)`,
  );
  stopOAuth = () => oauth.stop();

  const services = discoverServices(ROOT, PORT_BASE);
  // Every service learns every other's URL (the gateway's upstreams) and the public origin.
  const shared: Record<string, string> = {
    PUBLIC_ORIGIN: process.env.PUBLIC_ORIGIN || `http://localhost:${PORT_BASE}`,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    GOOGLE_CLIENT_ID: process.env.GOOGLE_CLIENT_ID || 'tenantmesh-dev',
    GOOGLE_AUTHORIZATION_URL: process.env.GOOGLE_AUTHORIZATION_URL || `${oauth.url}/authorize`,
    GOOGLE_TOKEN_URL: process.env.GOOGLE_TOKEN_URL || `${oauth.url}/token`,
    GOOGLE_USERINFO_URL: process.env.GOOGLE_USERINFO_URL || `${oauth.url}/userinfo`,
    // The files service's local object store, kept between runs like the database.
    FILES_ROOT: process.env.FILES_ROOT || path.join(STATE_DIR, 'files'),
    ...Object.fromEntries(services.map((s) => [`${s.name.toUpperCase()}_URL`, `http://127.0.0.1:${s.port}`])),
  };
  if (services.length === 0)
    throw new Error('no built services found: run `pnpm build` first (pnpm start does)');
  process.once('SIGINT', () => void stopEverything(0));
  process.once('SIGTERM', () => void stopEverything(0));

  for (const service of services) {
    const child = startService(service, databaseUrl, shared);
    children.set(service.name, child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      say(`${service.name} exited (${signal ?? code}); stopping the rest`);
      void stopEverything(1);
    });
  }
  await Promise.all(services.map((s) => waitUntilReady(s)));
  say('all services ready:');
  for (const s of services)
    say(`  ${s.name.padEnd(8)} http://127.0.0.1:${s.port}  (/healthz /readyz /metrics)`);
  if (services.some((s) => s.name === 'gateway')) {
    say(
      `web client: open ${shared.PUBLIC_ORIGIN} (or the API: ${shared.PUBLIC_ORIGIN}/auth/google, then /api/me)`,
    );
  }
  say('press Ctrl-C to stop');
}

/**
 * gateway and auth are separate processes: without a shared Redis, a logout at auth reaches the
 * gateway's session cache only when that entry expires (≤ 60 s). Start redis-server if there is one.
 */
async function startRedis(): Promise<string | undefined> {
  const port = PORT_BASE + 8;
  const started = await startRedisServer(port);
  if (!started.ok) {
    say(
      `no Redis (${started.reason}): single-process caches; a logout may take up to 60 s to reach the gateway`,
    );
    return undefined;
  }
  stopRedis = started.stop;
  say(`redis-server on 127.0.0.1:${port} (nothing kept on disk)`);
  return `redis://127.0.0.1:${port}`;
}

async function startPostgres(): Promise<RunningPostgres> {
  let dataDir = path.join(STATE_DIR, 'pgdata');
  const blocked = untraversableParent(dataDir);
  if (blocked) {
    // As root, Postgres runs as the `postgres` user, which cannot enter e.g. /root.
    const hash = createHash('sha256').update(ROOT).digest('hex').slice(0, 8);
    dataDir = path.join(os.tmpdir(), `tenantmesh-${hash}`, 'pgdata');
    say(`${blocked} is not traversable by the postgres user; keeping the database in ${dataDir}`);
  }
  if (await isListening('127.0.0.1', PG_PORT)) {
    throw new Error(`port ${PG_PORT} is taken (another pnpm start?); set DEV_PG_PORT to use another`);
  }
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  say(
    `${fresh ? 'initialising' : 'starting'} embedded PostgreSQL on 127.0.0.1:${PG_PORT} (data: ${dataDir})`,
  );
  const superuserPassword = readDevSecret(SECRETS_DIR, 'pg_superuser_password');
  const running = await startEmbeddedPostgres({
    dataDir,
    port: PG_PORT,
    superuserPassword,
    persistent: true,
    ownSignals: true,
  });
  const admin = connectSql({
    url: `postgres://127.0.0.1:${PG_PORT}/postgres`,
    user: 'postgres',
    password: superuserPassword,
    max: 1,
  });
  try {
    await bootstrapDatabase(admin, {
      database: DATABASE,
      ownerPassword: readDevSecret(SECRETS_DIR, 'db_owner_password'),
      runtimeLogin: DEFAULT_RUNTIME_LOGIN,
      runtimePassword: readDevSecret(SECRETS_DIR, 'db_runtime_password'),
    });
  } finally {
    await admin.end();
  }
  return running;
}

function startService(
  service: DevService,
  databaseUrl: string,
  shared: Record<string, string>,
): ChildProcess {
  const child = spawn(process.execPath, [service.main], {
    env: {
      ...withoutSecrets(process.env),
      ...shared,
      DATABASE_URL: databaseUrl,
      SECRETS_DIR,
      HOST: '127.0.0.1',
      PORT: String(service.port),
      LOG_FORMAT: process.env.LOG_FORMAT || 'pretty',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[36m[${service.name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
    });
  }
  return child;
}

/** Never hand a plain secret variable to a service: it would refuse to start (on purpose). */
function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => k.endsWith('_FILE') || !/(PASSWORD|SECRET|PASSPHRASE|_KEYS?|TOKEN)$|^TOKEN_KEYS_/.test(k),
    ),
  );
}

async function waitUntilReady(service: DevService): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} was not ready within 60 s`);
}

main().catch(async (error: Error) => {
  say(`failed: ${error.message}`);
  await stopEverything(1);
});
