#!/usr/bin/env node
// The jobs service's queue (services/jobs/dist/main.js in JOBS_MODE=worker: its real claim loop,
// SECURITY DEFINER functions, fenced completes and job.succeeded events) against graphile-worker
// and pg-boss, in ONE run, on the same PostgreSQL, with the same job count, the same no-op job and
// the same concurrency, for 1 and 4 worker PROCESSES of each (graphile-worker and pg-boss run in
// bench/jobs/runner.mjs, forked once per process). Each measurement gets a fresh database.
//   1. Throughput: the worker processes start and go idle; then --jobs jobs are enqueued in ONE
//      bulk call, timed (ours: INSERT … SELECT … generate_series as the owner role, as
//      services/jobs/test/faults.test.ts does, not the HTTP API; graphile-worker: addJobs;
//      pg-boss: insert). jobs/s = --jobs ÷ (first claim → last job completed), both seen by this
//      process polling the system's own table (a cheap poll every ~1 ms until the first claim;
//      then adaptive, every 2–200 ms, so that the end is seen within a few ms and the polling
//      costs the database little). CPU time of the worker processes and of their PostgreSQL
//      backends over the run, per job, from /proc.
//   2. Latency: a paced producer in this process adds jobs ONE AT A TIME (ours: INSERT … VALUES;
//      graphile-worker: addJob; pg-boss: send) at --rate jobs/s, for 1 s of warm-up (not
//      counted) plus --seconds, with the workers idle at the start. For every job:
//        add→start  ours: locked_at − created_at from the jobs table (now() of the INSERT, now()
//                   of the claim statement). jobs_succeed clears locked_at, so a trigger that
//                   copies both into an unlogged side table on each queued → running update is
//                   added to the latency runs' databases (never the throughput runs').
//                   graphile-worker, pg-boss: the handler's clock at its start − the producer's
//                   clock just before the add call (in the payload).
//                   Not quite the same span: ours leaves out the INSERT's trip to the server and
//                   the claim's own run time and trip back; the others count both.
//        add→done   the same span for all three: the producer's clock just before the add call →
//                   the handler's end (graphile-worker, pg-boss), or finished_at = now() of the
//                   fenced jobs_succeed that stored the job's success, batched with the others
//                   that finished meanwhile (ours).
// The no-op job is the same for all three: diagnostics.sleep {ms: 0} for ours (registered by
// JOBS_DIAGNOSTIC_TYPES=true: `await setTimeout(0)`, which Node clamps to 1 ms), and the same
// `await setTimeout(0)` in runner.mjs for the others. Every job must complete exactly once without
// a retry, or the run aborts. Our workers publish every job's job.succeeded to the events service
// (through their outbox: one POST per user with the events waiting for that user); with --events
// stub (the default) that is bench/jobs/events-stub.mjs, which answers 201 at once, as the events
// service would (slower); with --events closed it is a closed port, so every post fails at once
// and logs a warning. FILES_URL is a closed port (no-op jobs never call files).
// On demand only (`pnpm bench:jobs`), never in tests. Linux only (reads /proc for CPU time).
//
// Needs: `pnpm build`; PostgreSQL at --database-url (default postgres://postgres@127.0.0.1:5432/postgres,
// a superuser, trust auth), where it creates and at the end drops throwaway databases (one per
// measurement); removes them, the worker processes and its temporary secrets directory on errors
// and Ctrl-C too. Knobs: --jobs (default 5000), --concurrency (per process, default 8),
// --processes (default 1,4), --rate (default 200) and --seconds (default 5) for the latency run,
// --rounds (default 1; medians are reported), --systems (default ours,graphile,pgboss), --phases
// (default throughput,latency), --graphile-local-queue (default 500), --graphile-batch-delay
// (completeJobBatchDelay and failJobBatchDelay, default 0), --pgboss-batch-size (default 100),
// --pgboss-poll-seconds (default 0.5, pg-boss's minimum), --events (stub or closed, default stub),
// --ours-prefetch (ours' JOBS_PREFETCH; default: the graphile local queue size, the same knob),
// --worker-node-args (node's own arguments for every worker process, e.g. for --cpu-prof).
// Negative numbers need the = form: --graphile-local-queue=-1.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench } from '../lib/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
// Workspace packages and both competitors resolve from the jobs service, which depends on them.
const require = createRequire(path.join(root, 'services', 'jobs', 'package.json'));
const db = require('@tenantmesh/db');
const { freePort } = require('@tenantmesh/testing');
const graphileWorker = require('graphile-worker');
const PgBoss = require('pg-boss');
// node-postgres as graphile-worker itself resolves it.
const { Pool } = createRequire(require.resolve('graphile-worker'))('pg');
const versionOf = (name) => require(`${name}/package.json`).version;

const { values: options } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '8' },
    processes: { type: 'string', default: '1,4' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
    systems: { type: 'string', default: 'ours,graphile,pgboss' },
    phases: { type: 'string', default: 'throughput,latency' },
    'graphile-local-queue': { type: 'string', default: '500' },
    'graphile-batch-delay': { type: 'string', default: '0' },
    'pgboss-batch-size': { type: 'string', default: '100' },
    'pgboss-poll-seconds': { type: 'string', default: '0.5' },
    events: { type: 'string', default: 'stub' },
    'ours-prefetch': { type: 'string', default: '' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    // e.g. --worker-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof'
    'worker-node-args': { type: 'string', default: '' },
  },
});
const integer = (name, min) => {
  const value = Number(options[name]);
  if (!(Number.isInteger(value) && value >= min)) throw new Error(`--${name}: ${options[name]}`);
  return value;
};
const settings = {
  jobs: integer('jobs', 1),
  concurrency: integer('concurrency', 1),
  processes: options.processes.split(',').map((p) => {
    const n = Number(p);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--processes: ${options.processes}`);
    return n;
  }),
  rate: integer('rate', 1),
  seconds: integer('seconds', 1),
  rounds: integer('rounds', 1),
  systems: options.systems.split(','),
  phases: options.phases.split(','),
  graphileLocalQueue: integer('graphile-local-queue', -1),
  graphileBatchDelay: integer('graphile-batch-delay', -1),
  pgbossBatchSize: integer('pgboss-batch-size', 1),
  pgbossPollSeconds: Number(options['pgboss-poll-seconds']),
  events: options.events,
  // Ours' JOBS_PREFETCH: by default graphile-worker's local queue size (the same knob: jobs fetched
  // ahead of free slots), or the service's own default (the concurrency) when that queue is off.
  oursPrefetch:
    options['ours-prefetch'] !== ''
      ? integer('ours-prefetch', 0)
      : Number(options['graphile-local-queue']) > 0
        ? Number(options['graphile-local-queue'])
        : undefined,
  adminUrl: options['database-url'],
  workerNodeArgs: options['worker-node-args'].split(/\s+/).filter(Boolean),
};
if (!['stub', 'closed'].includes(settings.events))
  throw new Error(`--events: stub or closed, not ${settings.events}`);
if (!(settings.pgbossPollSeconds >= 0.5)) throw new Error('--pgboss-poll-seconds: at least 0.5 (pg-boss)');
const WARM_UP_SECONDS = 1;
const POOL_SIZE = 10; // every system's per-process pool: ours' DATABASE_POOL_MAX default, graphile's and pg-boss's default
const BENCH_APP = 'tm_bench'; // application_name of this process's own connections, left out of the CPU counts
const command = [
  'node bench/jobs/run.mjs',
  `--jobs ${settings.jobs}`,
  `--concurrency ${settings.concurrency}`,
  `--processes ${settings.processes.join(',')}`,
  `--rate ${settings.rate}`,
  `--seconds ${settings.seconds}`,
  `--rounds ${settings.rounds}`,
  ...(options.systems === 'ours,graphile,pgboss' ? [] : [`--systems ${options.systems}`]),
  ...(options.phases === 'throughput,latency' ? [] : [`--phases ${options.phases}`]),
  `--graphile-local-queue=${settings.graphileLocalQueue}`,
  `--graphile-batch-delay=${settings.graphileBatchDelay}`,
  `--pgboss-batch-size ${settings.pgbossBatchSize}`,
  `--pgboss-poll-seconds ${settings.pgbossPollSeconds}`,
  `--events ${settings.events}`,
  ...(settings.oursPrefetch === undefined ? [] : [`--ours-prefetch ${settings.oursPrefetch}`]),
  ...(settings.workerNodeArgs.length ? [`--worker-node-args='${settings.workerNodeArgs.join(' ')}'`] : []),
].join(' ');

const log = (line) => process.stdout.write(`${line}\n`);
const wallClock = () => performance.timeOrigin + performance.now();
const cleanups = [];

// ---------------------------------------------------------------------------------------------
// Databases

function adminUrlParts() {
  const url = new URL(settings.adminUrl);
  return {
    host: url.hostname,
    port: url.port || '5432',
    user: decodeURIComponent(url.username) || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

function connectAdmin(database) {
  const a = adminUrlParts();
  return db.connectSql({
    url: `postgres://${a.host}:${a.port}/${database ?? a.database}`,
    user: a.user,
    ...(a.password ? { password: a.password } : {}),
    max: 1,
    name: BENCH_APP,
  });
}

/** A superuser connection string to `database`, for graphile-worker and pg-boss (node-postgres). */
function superuserUrl(database, app) {
  const a = adminUrlParts();
  const auth = `${encodeURIComponent(a.user)}${a.password ? `:${encodeURIComponent(a.password)}` : ''}`;
  return `postgres://${auth}@${a.host}:${a.port}/${database}${app ? `?application_name=${app}` : ''}`;
}

const admin = connectAdmin();
cleanups.push(() => admin.end());

function dropLater(name) {
  cleanups.push(() => admin.unsafe(`drop database if exists ${name} with (force)`));
  return () => admin.unsafe(`drop database if exists ${name} with (force)`);
}

// ---------------------------------------------------------------------------------------------
// The three systems. open() makes a fresh database; each returns what the measurements need.

const OURS_INSERT = (sql, uid) => sql`
  insert into jobs (user_id, type, payload, max_attempts, lock_timeout_seconds)
  values (${uid}, 'diagnostics.sleep', '{"ms": 0}'::jsonb, 3, 3) returning id`;

/** Latency run only: keeps each claim's (created_at, locked_at), which jobs_succeed clears. */
const RECORD_CLAIMS_SQL = `
  create unlogged table public.bench_claims (
    id uuid primary key, created_at timestamptz not null, locked_at timestamptz not null);
  create function public.bench_record_claim() returns trigger language plpgsql as $$
  begin
    insert into public.bench_claims values (new.id, new.created_at, new.locked_at) on conflict (id) do nothing;
    return null;
  end $$;
  create trigger bench_record_claim after update of state on public.jobs for each row
    when (old.state = 'queued' and new.state = 'running') execute function public.bench_record_claim();`;

const systems = {
  ours: {
    label: 'tenantmesh jobs',
    async open(name, { latency }) {
      // The same bootstrap as the test harness and `pnpm start`, then the migrations as the owner.
      await db.bootstrapDatabase(admin, { database: name, runtimeLogin: db.DEFAULT_RUNTIME_LOGIN });
      const drop = dropLater(name);
      const a = adminUrlParts();
      const url = `postgres://${a.host}:${a.port}/${name}`;
      const owner = db.connectSql({ url, user: db.OWNER_ROLE, max: 16, name: BENCH_APP });
      await db.runMigrations(owner);
      const [user] =
        await owner`insert into user_sessions (provider, subject) values ('bench', 'bench') returning id`;
      if (latency) await owner.unsafe(RECORD_CLAIMS_SQL);
      const measured = [];
      return {
        name,
        startWorker: () => startOursWorker(url),
        enqueueBulk: async (n) => {
          await owner`
            insert into jobs (user_id, type, payload, max_attempts, lock_timeout_seconds)
            select ${user.id}, 'diagnostics.sleep', '{"ms": 0}'::jsonb, 3, 3 from generate_series(1, ${n})`;
        },
        addOne: async (t, warm) => {
          const [row] = await OURS_INSERT(owner, user.id);
          if (!warm) measured.push({ id: row.id, t });
        },
        claimedAny: async () =>
          (await owner`select exists (select 1 from jobs where state <> 'queued') as yes`)[0].yes,
        remaining: async () =>
          (await owner`select count(*)::int as n from jobs where state <> 'succeeded'`)[0].n,
        check: async (n) => {
          const [r] = await owner`
            select count(*)::int as total, count(*) filter (where state = 'succeeded')::int as done,
              coalesce(max(attempts), 0)::int as attempts,
              extract(epoch from max(finished_at) - min(finished_at))::float8 as seconds
            from jobs`;
          if (r.total !== n || r.done !== n || r.attempts !== 1)
            throw new Error(`ours: ${JSON.stringify(r)}, expected ${n} succeeded at attempt 1`);
          return `db: first → last finished_at ${r.seconds.toFixed(3)} s`;
        },
        // add→start from the table (locked_at − created_at); add→done as for the others: finished_at
        // (now() of the fenced succeed, sent right after the handler returned) − the producer's clock.
        samples: async () => {
          const ids = measured.map((m) => m.id).join(',');
          const rows = await owner`
            select c.id, extract(epoch from c.locked_at - c.created_at)::float8 * 1000 as start,
              extract(epoch from j.finished_at)::float8 * 1000 as finished
            from bench_claims c join jobs j using (id)
            where c.id = any(string_to_array(${ids}, ',')::uuid[])`;
          if (rows.length !== measured.length)
            throw new Error(`ours: ${rows.length} claims recorded for ${measured.length} jobs`);
          const sentAt = new Map(measured.map((m) => [m.id, m.t]));
          return { start: rows.map((r) => r.start), done: rows.map((r) => r.finished - sentAt.get(r.id)) };
        },
        close: async () => {
          await owner.end();
          await drop();
        },
      };
    },
  },

  graphile: {
    label: `graphile-worker ${versionOf('graphile-worker')}`,
    async open(name) {
      await admin.unsafe(`create database ${name}`);
      const drop = dropLater(name);
      const logger = new graphileWorker.Logger(() => (level, message) => {
        if (level === 'error') process.stderr.write(`graphile-worker (bench): ${message}\n`);
      });
      await graphileWorker.runMigrations({ connectionString: superuserUrl(name, BENCH_APP), logger });
      // Our own pool (graphile-worker's own pg), so that an idle client killed by the forced drop
      // at the end is an 'error' we expect, not an unhandled one that ends the benchmark.
      const pool = new Pool({ connectionString: superuserUrl(name, BENCH_APP), max: 16 });
      let closing = false;
      const onError = (error) => {
        if (!closing) process.stderr.write(`graphile-worker (bench pool): ${error.message}\n`);
      };
      pool.on('error', onError);
      pool.on('connect', (client) => client.on('error', onError));
      const utils = await graphileWorker.makeWorkerUtils({ pgPool: pool, logger });
      const sql = connectAdmin(name);
      return {
        name,
        startWorker: () => forkRunner('graphile', superuserUrl(name)),
        enqueueBulk: async (n) => {
          await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: { ms: 0 } })));
        },
        addOne: (t, warm) => utils.addJob('noop', warm ? { ms: 0, t, w: true } : { ms: 0, t }),
        claimedAny: async (n) =>
          (
            await sql`
              select (count(*) filter (where locked_at is not null) > 0
                or count(*) < ${n}) as yes from graphile_worker._private_jobs`
          )[0].yes,
        remaining: async () => (await sql`select count(*)::int as n from graphile_worker._private_jobs`)[0].n,
        // Completed jobs are deleted: the workers' own counts show each ran once (a retry would
        // leave the row, with last_error, until its next attempt).
        check: async (n, reports) => {
          const ran = reports.reduce((sum, r) => sum + r.count, 0);
          if (ran !== n) throw new Error(`graphile-worker: ${ran} job runs for ${n} jobs`);
          return `handlers: first start → last end ${spanSeconds(reports).toFixed(3)} s`;
        },
        close: async () => {
          closing = true;
          await utils.release();
          await pool.end();
          await sql.end();
          await drop();
        },
      };
    },
  },

  pgboss: {
    label: `pg-boss ${versionOf('pg-boss')}`,
    async open(name) {
      await admin.unsafe(`create database ${name}`);
      const drop = dropLater(name);
      const boss = new PgBoss({
        connectionString: superuserUrl(name, BENCH_APP),
        max: 16,
        schedule: false,
        supervise: false,
      });
      let closing = false;
      boss.on('error', (error) => {
        // Once closing, the database is about to be dropped (with force): its goodbyes are noise.
        if (!closing) process.stderr.write(`pg-boss (bench): ${error.message}\n`);
      });
      await boss.start();
      await boss.createQueue('noop');
      const sql = connectAdmin(name);
      return {
        name,
        startWorker: () => forkRunner('pgboss', superuserUrl(name)),
        enqueueBulk: async (n) => {
          await boss.insert(Array.from({ length: n }, () => ({ name: 'noop', data: { ms: 0 } })));
        },
        addOne: (t, warm) => boss.send('noop', warm ? { ms: 0, t, w: true } : { ms: 0, t }),
        claimedAny: async () =>
          (
            await sql`select exists (select 1 from pgboss.job where name = 'noop' and state <> 'created') as yes`
          )[0].yes,
        remaining: async () =>
          (
            await sql`select count(*)::int as n from pgboss.job where name = 'noop' and state <> 'completed'`
          )[0].n,
        check: async (n, reports) => {
          const [r] = await sql`
            select count(*)::int as total, count(*) filter (where state = 'completed')::int as done,
              coalesce(max(retry_count), 0)::int as retries,
              extract(epoch from max(completed_on) - min(started_on))::float8 as seconds
            from pgboss.job where name = 'noop'`;
          const ran = reports.reduce((sum, x) => sum + x.count, 0);
          if (r.total !== n || r.done !== n || r.retries !== 0 || ran !== n)
            throw new Error(`pg-boss: ${JSON.stringify(r)}, ${ran} runs, expected ${n} completed once`);
          return `db: first started_on → last completed_on ${r.seconds.toFixed(3)} s`;
        },
        close: async () => {
          closing = true;
          await boss.stop({ graceful: false, wait: true });
          await sql.end();
          await drop();
        },
      };
    },
  },
};
for (const name of settings.systems) if (!systems[name]) throw new Error(`--systems: unknown ${name}`);

const spanSeconds = (reports) => {
  const started = reports.filter((r) => r.firstStart !== undefined);
  if (started.length === 0) return Number.NaN;
  return (Math.max(...started.map((r) => r.lastEnd)) - Math.min(...started.map((r) => r.firstStart))) / 1000;
};

// ---------------------------------------------------------------------------------------------
// Worker processes

let secretsDir;
let deadPort;
let eventsStub;

/** bench/jobs/events-stub.mjs (--events stub): where our workers' job.succeeded events go. */
async function startEventsStub() {
  const port = await freePort();
  const child = fork(path.join(here, 'events-stub.mjs'), [String(port)], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stub = track(child, 'events stub');
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(new Error(`events stub exited: ${stub.stderr()}`)));
  });
  return { pid: child.pid, url: `http://127.0.0.1:${port}` };
}

/** services/jobs/dist/main.js, JOBS_MODE=worker; resolves once /readyz answers 200 (LISTEN is up by then). */
async function startOursWorker(url) {
  const port = await freePort();
  const main = path.join(root, 'services', 'jobs', 'dist', 'main.js');
  const child = spawn(process.execPath, [...settings.workerNodeArgs, main], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATABASE_URL: url,
      DATABASE_MIGRATE_ON_BOOT: 'false',
      DATABASE_POOL_MAX: String(POOL_SIZE),
      SECRETS_DIR: secretsDir,
      // Warnings would be one line per job here (every completion's job.succeeded event goes to a
      // closed port and fails at once); production logs at info, but its events are delivered.
      LOG_LEVEL: 'error',
      JOBS_MODE: 'worker',
      JOBS_DIAGNOSTIC_TYPES: 'true',
      JOBS_CONCURRENCY: String(settings.concurrency),
      ...(settings.oursPrefetch === undefined ? {} : { JOBS_PREFETCH: String(settings.oursPrefetch) }),
      FILES_URL: `http://127.0.0.1:${deadPort}`,
      EVENTS_URL: eventsStub?.url ?? `http://127.0.0.1:${deadPort}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const worker = track(child, 'ours worker');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`ours worker exited: ${worker.stderr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return { ...worker, stop: () => worker.signal('SIGTERM') };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`ours worker not ready: ${worker.stderr()}`);
}

/** bench/jobs/runner.mjs for graphile-worker or pg-boss; resolves once it says it is ready. */
async function forkRunner(system, connectionString) {
  const runnerSettings = {
    system,
    connectionString,
    concurrency: settings.concurrency,
    poolSize: POOL_SIZE,
    graphile: {
      localQueueSize: settings.graphileLocalQueue,
      completeJobBatchDelay: settings.graphileBatchDelay,
      failJobBatchDelay: settings.graphileBatchDelay,
    },
    pgboss: {
      workers: settings.concurrency,
      batchSize: settings.pgbossBatchSize,
      pollingIntervalSeconds: settings.pgbossPollSeconds,
    },
  };
  const child = fork(path.join(here, 'runner.mjs'), [JSON.stringify(runnerSettings)], {
    cwd: here,
    execArgv: settings.workerNodeArgs,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const worker = track(child, `${system} runner`);
  const answer = (key) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message && key in message) {
          child.off('message', onMessage);
          resolve(message[key]);
        }
      };
      child.on('message', onMessage);
      child.once('exit', () => reject(new Error(`${system} runner exited: ${worker.stderr()}`)));
    });
  await Promise.race([
    answer('ready'),
    sleep(30_000, undefined, { ref: false }).then(() => {
      throw new Error(`${system} runner not ready: ${worker.stderr()}`);
    }),
  ]);
  return {
    ...worker,
    report: () => {
      const reply = answer('report');
      child.send('report');
      return reply;
    },
    stop: () => {
      if (child.connected) child.send('stop');
      return worker.exited(15_000);
    },
  };
}

/** Keeps the tail of a child's stderr; on cleanup, kills it if it still runs. */
function track(child, what) {
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-8000)));
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = async (timeoutMs) => {
    const result = await Promise.race([
      exit,
      sleep(timeoutMs, undefined, { ref: false }).then(() => 'timeout'),
    ]);
    if (result === 'timeout') {
      process.stderr.write(`${what} ${child.pid} did not stop within ${timeoutMs} ms: SIGKILL\n`);
      child.kill('SIGKILL');
      return exit;
    }
    return result;
  };
  cleanups.push(async () => {
    if (running()) child.kill('SIGKILL');
    await exit;
  });
  return {
    pid: child.pid,
    stderr: () => stderr,
    signal: (signal) => {
      if (running()) child.kill(signal);
      return exited(15_000);
    },
    exited,
  };
}

async function startWorkers(system, count) {
  return Promise.all(Array.from({ length: count }, () => system.startWorker()));
}

async function stopWorkers(workers) {
  const codes = await Promise.all(workers.map((w) => w.stop()));
  const bad = codes.filter((c) => c !== 0);
  if (bad.length) process.stderr.write(`worker exit codes: ${codes.join(', ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// CPU time (Linux /proc): worker processes, the database's PostgreSQL backends, the machine.

function cpuMsOf(pid) {
  try {
    // Fields after the parenthesised command name; utime + stime in USER_HZ (100/s) ticks.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

function machineTicks() {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = values.map(Number);
  const idle = n[3] + n[4];
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle, total };
}

async function cpuSnapshot(database, workers) {
  const backends = await admin`
    select pid from pg_stat_activity
    where datname = ${database} and coalesce(application_name, '') <> ${BENCH_APP}`;
  return {
    workers: new Map(workers.map((w) => [w.pid, cpuMsOf(w.pid) ?? 0])),
    backends: new Map(backends.map((b) => [b.pid, cpuMsOf(b.pid)])),
    stub: eventsStub ? (cpuMsOf(eventsStub.pid) ?? 0) : 0,
    machine: machineTicks(),
  };
}

function cpuBetween(before, after) {
  let workers = 0;
  for (const [pid, ms] of after.workers) workers += ms - (before.workers.get(pid) ?? 0);
  let postgres = 0;
  let readable = true;
  for (const [pid, ms] of after.backends) {
    if (ms === undefined) readable = false;
    else postgres += ms - (before.backends.get(pid) ?? 0);
  }
  const total = after.machine.total - before.machine.total;
  const busy = total > 0 ? 1 - (after.machine.idle - before.machine.idle) / total : Number.NaN;
  return { workers, postgres: readable ? postgres : Number.NaN, stub: after.stub - before.stub, busy };
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** Polls until the first job is claimed, then until none is left; the query start times. */
async function watchDrain(ctx, n) {
  const deadline = Date.now() + 60_000;
  let first;
  for (;;) {
    const t = wallClock();
    if (await ctx.claimedAny(n)) {
      first = t;
      break;
    }
    if (Date.now() > deadline) throw new Error(`${ctx.name}: no job claimed within 60 s`);
    await sleep(1);
  }
  let lastLeft = n;
  let progressAt = Date.now();
  for (;;) {
    const t = wallClock();
    const left = await ctx.remaining();
    if (left === 0) return { first, end: t };
    if (left < lastLeft) {
      lastLeft = left;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > 60_000) {
      throw new Error(`${ctx.name}: stuck at ${left} jobs left for 60 s`);
    }
    // Poll often only near the end, so that the polling costs the database little.
    const done = n - left;
    const etaMs = done > 0 ? (left * (t - first)) / done : 100;
    await sleep(Math.min(200, Math.max(2, etaMs / 4)));
  }
}

async function measureThroughput(key, processes) {
  const system = systems[key];
  const ctx = await system.open(`tm_bench_jobs_${randomBytes(4).toString('hex')}`, { latency: false });
  const workers = await startWorkers(ctx, processes);
  try {
    await sleep(500); // let every worker settle into its idle wait
    const before = await cpuSnapshot(ctx.name, workers);
    const enqueueStart = wallClock();
    await ctx.enqueueBulk(settings.jobs);
    const enqueued = wallClock();
    const { first, end } = await watchDrain(ctx, settings.jobs);
    const cpu = cpuBetween(before, await cpuSnapshot(ctx.name, workers));
    const reports = workers[0].report ? await Promise.all(workers.map((w) => w.report())) : [];
    const detail = await ctx.check(settings.jobs, reports);
    const result = {
      enqueueMs: enqueued - enqueueStart,
      firstClaimMs: first - enqueued,
      seconds: (end - first) / 1000,
      jobsPerSecond: settings.jobs / ((end - first) / 1000),
      workerCpuPerJob: cpu.workers / settings.jobs,
      postgresCpuPerJob: cpu.postgres / settings.jobs,
      stubCpuPerJob: cpu.stub / settings.jobs,
      busy: cpu.busy,
    };
    log(
      `  throughput  ${system.label} × ${processes}: enqueued ${settings.jobs} in ${result.enqueueMs.toFixed(0)} ms;` +
        ` first claim +${result.firstClaimMs.toFixed(0)} ms; drained in ${result.seconds.toFixed(2)} s =` +
        ` ${result.jobsPerSecond.toFixed(0)} jobs/s (${detail}); CPU per job: workers` +
        ` ${result.workerCpuPerJob.toFixed(3)} ms, PostgreSQL ${result.postgresCpuPerJob.toFixed(3)} ms` +
        `${eventsStub ? `, events stub ${result.stubCpuPerJob.toFixed(3)} ms` : ''};` +
        ` machine busy ${pct(cpu.busy)}`,
    );
    return result;
  } finally {
    await stopWorkers(workers);
    await ctx.close();
  }
}

async function measureLatency(key, processes) {
  const system = systems[key];
  const ctx = await system.open(`tm_bench_jobs_${randomBytes(4).toString('hex')}`, { latency: true });
  const workers = await startWorkers(ctx, processes);
  try {
    await sleep(500);
    const total = settings.rate * (WARM_UP_SECONDS + settings.seconds);
    const warm = settings.rate * WARM_UP_SECONDS;
    const addMs = [];
    const inFlight = new Set();
    const start = wallClock() + 20;
    for (let i = 0; i < total; i++) {
      const wait = start + (i * 1000) / settings.rate - wallClock();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= 32) await Promise.race(inFlight);
      const t = wallClock();
      const add = ctx.addOne(t, i < warm).then(() => {
        if (i >= warm) addMs.push(wallClock() - t);
      });
      inFlight.add(add);
      add.finally(() => inFlight.delete(add)).catch(() => undefined);
    }
    await Promise.all(inFlight);
    const achieved = total / ((wallClock() - start) / 1000);
    await watchDrain(ctx, total);
    const reports = workers[0].report ? await Promise.all(workers.map((w) => w.report())) : [];
    const { start: samples, done } = ctx.samples
      ? await ctx.samples()
      : { start: reports.flatMap((r) => r.start), done: reports.flatMap((r) => r.done) };
    if (samples.length !== total - warm || done.length !== total - warm)
      throw new Error(`${system.label}: ${samples.length} latency samples for ${total - warm} jobs`);
    await ctx.check(total, reports); // every job done once, no retry
    samples.sort((a, b) => a - b);
    done.sort((a, b) => a - b);
    addMs.sort((a, b) => a - b);
    const result = {
      p50: quantile(samples, 0.5),
      p99: quantile(samples, 0.99),
      max: samples.at(-1),
      doneP50: quantile(done, 0.5),
      doneP99: quantile(done, 0.99),
      addP50: quantile(addMs, 0.5),
      achieved,
    };
    log(
      `  latency     ${system.label} × ${processes}: ${samples.length} jobs at ${achieved.toFixed(0)}/s;` +
        ` add→start p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${ms(result.max)} ms;` +
        ` add→done p50 ${ms(result.doneP50)} ms, p99 ${ms(result.doneP99)} ms;` +
        ` the add call itself p50 ${ms(result.addP50)} ms`,
    );
    return result;
  } finally {
    await stopWorkers(workers);
    await ctx.close();
  }
}

const quantile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const median = (values) =>
  values.length ? [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] : Number.NaN;
const ms = (value) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
const pct = (fraction) => `${(fraction * 100).toFixed(0)} %`;

// ---------------------------------------------------------------------------------------------

async function main() {
  if (!fs.existsSync(path.join(root, 'services', 'jobs', 'dist', 'main.js')))
    throw new Error('services/jobs/dist/main.js is missing: run `pnpm build` first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-bench-jobs-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  secretsDir = path.join(work, 'secrets');
  fs.mkdirSync(secretsDir, { mode: 0o700 });
  for (const file of ['token_keys_gateway_jobs', 'token_keys_jobs_files', 'token_keys_jobs_events']) {
    const ring = { keys: [{ kid: 'k1', key: randomBytes(32).toString('base64') }] };
    fs.writeFileSync(path.join(secretsDir, file), JSON.stringify(ring), { mode: 0o600 });
  }
  deadPort = await freePort(); // nothing listens here: files is never reached, nor events with --events closed
  if (settings.events === 'stub') eventsStub = await startEventsStub();

  const [{ version }] = await admin`select current_setting('server_version') as version`;
  const started = Date.now();
  log(
    `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, PostgreSQL ${version},` +
      ` load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  log(
    `${settings.jobs} jobs per throughput run; latency: ${settings.rate} jobs/s for ${WARM_UP_SECONDS} s warm-up +` +
      ` ${settings.seconds} s; concurrency ${settings.concurrency} per process; processes ${settings.processes.join(', ')};` +
      ` ${settings.rounds} round(s)`,
  );
  log(
    `settings: ours JOBS_CONCURRENCY=${settings.concurrency}, JOBS_PREFETCH=${settings.oursPrefetch ?? `default (${settings.concurrency})`}, JOBS_POLL_INTERVAL_MS default (NOTIFY wakes it);` +
      ` graphile-worker concurrency ${settings.concurrency}, localQueue.size ${settings.graphileLocalQueue},` +
      ` completeJobBatchDelay = failJobBatchDelay = ${settings.graphileBatchDelay};` +
      ` pg-boss ${settings.concurrency} work() per process, batchSize ${settings.pgbossBatchSize},` +
      ` pollingIntervalSeconds ${settings.pgbossPollSeconds}; pools of ${POOL_SIZE} connections per process\n`,
  );

  const results = {};
  const keys = settings.systems;
  for (let round = 1; round <= settings.rounds; round++) {
    log(`round ${round}`);
    // Each round starts with a different system, so none always runs first.
    const order = keys.map((_, i) => keys[(i + round - 1) % keys.length]);
    for (const processes of settings.processes) {
      for (const key of order) results[`${key}×${processes}`] ??= { throughput: [], latency: [] };
      if (settings.phases.includes('throughput'))
        for (const key of order)
          results[`${key}×${processes}`].throughput.push(await measureThroughput(key, processes));
      if (settings.phases.includes('latency'))
        for (const key of order)
          results[`${key}×${processes}`].latency.push(await measureLatency(key, processes));
    }
  }

  const summary = (key, processes) => {
    const r = results[`${key}×${processes}`];
    const of = (phase, field) => median(r[phase].map((x) => x[field]));
    return {
      jobsPerSecond: of('throughput', 'jobsPerSecond'),
      enqueuePerSecond: median(r.throughput.map((x) => settings.jobs / (x.enqueueMs / 1000))),
      workerCpu: of('throughput', 'workerCpuPerJob'),
      postgresCpu: of('throughput', 'postgresCpuPerJob'),
      p50: of('latency', 'p50'),
      p99: of('latency', 'p99'),
      doneP50: of('latency', 'doneP50'),
      doneP99: of('latency', 'doneP99'),
    };
  };
  const base = keys.includes('ours') ? 'ours' : keys[0];
  const ratio = (x, y) => (x / y).toFixed(2);
  log(
    `\nmedians over ${settings.rounds} round(s). ours ÷ it: ${systems[base].label}'s jobs/s divided by this` +
      " system's (above 1: ours is faster). Latency in ms. CPU: ms per job in the worker processes and in" +
      ' their PostgreSQL backends, during the throughput run.',
  );
  log(
    '| system | processes | enqueue jobs/s (one bulk call) | jobs/s | ours ÷ it | add→start p50 | p99 | add→done p50 | p99 | worker CPU | PostgreSQL CPU |',
  );
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const processes of settings.processes) {
    const b = summary(base, processes);
    for (const key of keys) {
      const s = summary(key, processes);
      log(
        `| ${systems[key].label} | ${processes} | ${s.enqueuePerSecond.toFixed(0)} | ${s.jobsPerSecond.toFixed(0)} |` +
          ` ${ratio(b.jobsPerSecond, s.jobsPerSecond)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.doneP50)} |` +
          ` ${ms(s.doneP99)} | ${s.workerCpu.toFixed(3)} | ${s.postgresCpu.toFixed(3)} |`,
      );
    }
  }
  log('\nratios, ours ÷ it (jobs/s: above 1 = ours faster; latency: below 1 = ours sooner)');
  for (const processes of settings.processes) {
    const b = summary(base, processes);
    for (const key of keys.filter((k) => k !== base)) {
      const s = summary(key, processes);
      log(
        `  ${processes} process(es), ours ÷ ${systems[key].label}: jobs/s ${ratio(b.jobsPerSecond, s.jobsPerSecond)};` +
          ` add→start p50 ${ratio(b.p50, s.p50)}, p99 ${ratio(b.p99, s.p99)};` +
          ` add→done p50 ${ratio(b.doneP50, s.doneP50)}, p99 ${ratio(b.doneP99, s.doneP99)}`,
      );
    }
  }
  log(
    `\ntook ${((Date.now() - started) / 1000).toFixed(0)} s; load at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  log(`command: ${command}`);
}

runBench(main, cleanups);
