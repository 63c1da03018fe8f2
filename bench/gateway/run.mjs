#!/usr/bin/env node
// The gateway's cost, measured in ONE run against two baselines, on GET /notebooks of the real
// notes service (a user with 5 notebooks, real PostgreSQL):
//   (a) gateway  → session cookie resolved (PostgreSQL + Redis cache), rate limit (Redis),
//                  X-User-Token minted, proxied to notes, which verifies it
//   (b) direct   → notes itself, with a pre-minted token
//   (c) bare     → a minimal node:http proxy in front of notes, forwarding a pre-minted token
// Every service runs as its own process (its built dist/main.js), the load generator
// (autocannon) in this one. On demand only (`pnpm bench:gateway`), never in tests.
//
// Needs: `pnpm build`; PostgreSQL at --database-url (default postgres://postgres@127.0.0.1:5432/postgres,
// a superuser, trust auth), where it creates and at the end drops a throwaway database; Redis at
// --redis-url (default redis://127.0.0.1:6379). Knobs: --duration (seconds per run, default 8),
// --connections (default 32), --rounds (default 3; medians are reported).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase, runBench } from '../lib/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Workspace packages and autocannon resolve from the gateway, which depends on them.
const require = createRequire(path.join(root, 'services', 'gateway', 'package.json'));
const autocannon = require('autocannon');
const Redis = require('ioredis');
const { KeyRing } = require('@tenantmesh/config');
const db = require('@tenantmesh/db');
const { MemorySessionCache, SessionService } = require('@tenantmesh/sessions');
const { mintUserToken } = require('@tenantmesh/user-token');
const { freePort } = require('@tenantmesh/testing');

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const settings = {
  duration: Number(options.duration),
  connections: Number(options.connections),
  rounds: Number(options.rounds),
  adminUrl: options['database-url'],
  redisUrl: options['redis-url'],
};
const command = [
  'node bench/gateway/run.mjs',
  `--duration ${settings.duration}`,
  `--connections ${settings.connections}`,
  `--rounds ${settings.rounds}`,
].join(' ');

const cleanups = [];
const log = (line) => process.stdout.write(`${line}\n`);

async function main() {
  const name = `tm_bench_${randomBytes(4).toString('hex')}`;
  const dbUrl = await createBenchDatabase({ db, adminUrl: settings.adminUrl, name, cleanups });
  const secrets = writeSecrets();
  const { uid, cookie, sid } = await seedUser(dbUrl, secrets);
  const ring = KeyRing.load('token_keys_gateway_notes', path.join(secrets, 'token_keys_gateway_notes'));
  const sessionKey = `tm:sess:${createHash('sha256').update(sid).digest('hex')}`;
  cleanups.push(() => deleteRedisKeys([sessionKey, 'tm:rl:default:127.0.0.1']));

  const notesPort = await freePort();
  const gatewayPort = await freePort();
  const barePort = await freePort();
  const env = {
    DATABASE_URL: dbUrl,
    SECRETS_DIR: secrets,
    DATABASE_MIGRATE_ON_BOOT: 'false',
    LOG_LEVEL: 'warn',
  };
  await startService(
    'notes',
    'services/notes/dist/main.js',
    [],
    { ...env, PORT: String(notesPort) },
    notesPort,
  );
  await startService(
    'gateway',
    'services/gateway/dist/main.js',
    [],
    {
      ...env,
      PORT: String(gatewayPort),
      NOTES_URL: `http://127.0.0.1:${notesPort}`,
      PUBLIC_ORIGIN: `http://127.0.0.1:${gatewayPort}`,
      REDIS_URL: settings.redisUrl,
      RATE_LIMIT_PER_MINUTE: '1000000',
    },
    gatewayPort,
  );
  await startService(
    'bare proxy',
    'bench/gateway/bare-proxy.mjs',
    [String(barePort), `http://127.0.0.1:${notesPort}`],
    {},
    barePort,
    '/healthz',
  );

  // Tokens live at most 300 s: mint one per run, just before it.
  const token = () => mintUserToken({ issuer: 'gateway', audience: 'notes', uid, ring, ttlSeconds: 300 });
  const scenarios = [
    {
      key: 'gateway',
      label: '(a) gateway → notes',
      url: `http://127.0.0.1:${gatewayPort}/api/notes/notebooks`,
      headers: () => ({ cookie }),
    },
    {
      key: 'direct',
      label: '(b) notes direct',
      url: `http://127.0.0.1:${notesPort}/notebooks`,
      headers: () => ({ 'x-user-token': token() }),
    },
    {
      key: 'bare',
      label: '(c) bare proxy → notes',
      url: `http://127.0.0.1:${barePort}/notebooks`,
      headers: () => ({ 'x-user-token': token() }),
    },
  ];
  for (const s of scenarios) await checkAnswers(s);

  log(
    `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  log(
    `${settings.rounds} round(s) × ${scenarios.length} scenarios × ${settings.duration}s, ${settings.connections} connections\n`,
  );
  const results = Object.fromEntries(scenarios.map((s) => [s.key, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    for (const s of scenarios) {
      await autocannon({ url: s.url, headers: s.headers(), connections: settings.connections, duration: 2 }); // warm-up
      const r = await autocannon({
        url: s.url,
        headers: s.headers(),
        connections: settings.connections,
        duration: settings.duration,
      });
      if (r.non2xx || r.errors)
        throw new Error(`${s.label}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      results[s.key].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
      log(
        `round ${round} ${s.label.padEnd(24)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms`,
      );
    }
  }

  const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  const summary = Object.fromEntries(
    scenarios.map((s) => [
      s.key,
      {
        rps: median(results[s.key].map((r) => r.rps)),
        p50: median(results[s.key].map((r) => r.p50)),
        p99: median(results[s.key].map((r) => r.p99)),
      },
    ]),
  );
  log('\nmedians');
  log('| scenario | req/s | p50 ms | p99 ms |');
  log('| --- | ---: | ---: | ---: |');
  for (const s of scenarios) {
    const m = summary[s.key];
    log(`| ${s.label} | ${m.rps.toFixed(0)} | ${m.p50} | ${m.p99} |`);
  }
  const ratio = (x, y) => (y ? (x / y).toFixed(2) : 'n/a');
  log('\nratios');
  log(
    `gateway / direct throughput: ${ratio(summary.gateway.rps, summary.direct.rps)}   p50: ${ratio(summary.gateway.p50, summary.direct.p50)}×   p99: ${ratio(summary.gateway.p99, summary.direct.p99)}×`,
  );
  log(
    `gateway / bare   throughput: ${ratio(summary.gateway.rps, summary.bare.rps)}   p50: ${ratio(summary.gateway.p50, summary.bare.p50)}×   p99: ${ratio(summary.gateway.p99, summary.bare.p99)}×`,
  );
  log(`bare    / direct throughput: ${ratio(summary.bare.rps, summary.direct.rps)}`);
  log(`\ncommand: ${command}`);
}

function writeSecrets() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-bench-secrets-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const file of ['cookie_keys', 'token_keys_gateway_notes']) {
    const ring = { keys: [{ kid: 'bench', key: randomBytes(32).toString('base64') }] };
    fs.writeFileSync(path.join(dir, file), JSON.stringify(ring), { mode: 0o600 });
  }
  return dir;
}

async function seedUser(url, secrets) {
  const owner = db.connectSql({ url, user: db.OWNER_ROLE, max: 1 });
  const runtime = db.connectDatabase({ url, user: db.DEFAULT_RUNTIME_LOGIN, max: 1 });
  try {
    const [user] =
      await owner`insert into user_sessions (provider, subject) values ('bench', 'bench') returning id`;
    for (let i = 1; i <= 5; i++)
      await owner`insert into notebooks (user_id, title) values (${user.id}, ${`Notebook ${i}`})`;
    // A real session, started the way auth starts one.
    const ring = KeyRing.load('cookie_keys', path.join(secrets, 'cookie_keys'));
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, {
      idleTtlSeconds: 3600,
      absoluteTtlSeconds: 86_400,
    });
    const { setCookie } = await sessions.start(user.id);
    const cookie = setCookie.split(';')[0];
    return { uid: user.id, cookie, sid: cookie.split('=')[1].split('.')[2] };
  } finally {
    await owner.end();
    await runtime.close();
  }
}

async function startService(label, script, args, env, port, readyPath = '/readyz') {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${label} exited: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${label} not ready: ${stderr}`);
}

async function checkAnswers(scenario) {
  const res = await fetch(scenario.url, { headers: scenario.headers() });
  const body = await res.json();
  if (res.status !== 200 || body.notebooks?.length !== 5) {
    throw new Error(
      `${scenario.label}: expected 200 with 5 notebooks, got ${res.status} ${JSON.stringify(body)}`,
    );
  }
}

async function deleteRedisKeys(keys) {
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

runBench(main, cleanups);
