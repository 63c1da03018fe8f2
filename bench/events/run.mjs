#!/usr/bin/env node
// The events service (its built dist/main.js, one process, Redis fan-out and leases as in
// production) against a bare node:http SSE broadcaster (bench/events/bare-broadcaster.mjs: no auth,
// no storage, no Redis; POST /publish {to, data} writes to `to`'s streams after one Map lookup),
// in ONE run, one after the other, with the same load:
//   1. Connections held: open streams in steps (--start-connections, doubling, up to
//      --max-connections), one user per connection, from --workers load-generator processes
//      (this file, forked). At each step, publish one probe event to every user and wait until
//      every connection has it. The highest step where every stream opened (200) and every probe
//      arrived is "held"; RSS per connection = (RSS at that step − idle RSS) ÷ connections.
//   2. Delivery latency: --latency-connections streams (one per user) in THIS process, and a paced
//      publisher in this process at --rate events/s for --seconds (after a 2 s warm-up), each event
//      to the next user round-robin, at most 128 POSTs in flight. Each event carries
//      performance.now() of this process taken just before its POST; latency = receipt − that
//      (the wait for a free POST slot before it is recorded apart). The service path is POST
//      /events (token check, PostgreSQL insert, Redis PUBLISH) → Redis → the stream's uid check →
//      the socket; the bare one POST /publish → write. A server that cannot keep up builds a
//      backlog: an event that waited 2 s for a free POST slot is shed (counted, never sent), so
//      the run stays bounded. When either side accepts fewer than 95 % of --rate, POST throughput
//      is the limit: both setups are measured again at about half the rate the slower one accepted.
// Every delivered event must arrive on a connection of the user it was published for, exactly once,
// and every accepted publish must arrive: wrong-user, duplicate and lost deliveries are counted
// and printed (and the service's own tenantmesh_events_dropped_total{reason="wrong_uid"}).
// On demand only (`pnpm bench:events`), never in tests. Linux only (reads /proc).
//
// Needs: `pnpm build`; PostgreSQL at --database-url (default postgres://postgres@127.0.0.1:5432/postgres,
// a superuser, trust auth), where it creates and at the end drops a throwaway database; Redis at
// --redis-url (default redis://127.0.0.1:6379), where it uses a random key/channel prefix and
// deletes its keys at the end. Knobs: --max-connections (default 8000), --start-connections
// (default 1000), --workers (default 2), --latency-connections (default 1000), --rate (default
// 1000), --seconds (default 10).
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase, runBench } from '../lib/harness.mjs';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..', '..');
const WORKER_FLAG = '--clients-worker';
const log = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// SSE clients: shared by the load-generator workers (connections held) and this process (latency).

/**
 * Streams opened from this process. `onEvent(conn, data, at)` gets every `data:` of every stream,
 * JSON-parsed, with performance.now() at the chunk's arrival.
 */
function createClients(onEvent) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const conns = [];
  const counters = { ended: 0 };

  const openOne = ({ url, uid, headers = {} }) =>
    new Promise((resolve) => {
      const conn = { uid, req: undefined, closing: false, ended: false, probe: 0 };
      let settled = false;
      const settle = (result) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const lost = () => {
        if (conn.closing || conn.ended) return;
        conn.ended = true;
        counters.ended += 1;
      };
      conn.req = http.get(url, { agent, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => settle({ error: `HTTP ${res.statusCode} ${body.slice(0, 160)}` }));
          res.on('error', () => settle({ error: `HTTP ${res.statusCode}` }));
          return;
        }
        let buffer = '';
        res.on('data', (chunk) => {
          const at = performance.now();
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data;
            for (const line of block.split('\n')) {
              if (line.startsWith('data: ')) data = (data === undefined ? '' : `${data}\n`) + line.slice(6);
            }
            if (data !== undefined) onEvent(conn, JSON.parse(data), at);
          }
        });
        res.on('close', lost);
        res.on('error', () => {});
        conns.push(conn);
        settle({ conn });
      });
      conn.req.on('error', (error) => {
        settle({ error: error.code ?? error.message });
        lost();
      });
    });

  return {
    conns,
    counters,
    /** Opens every stream of `list` ({url, uid, headers}), `concurrency` at a time. */
    async openMany(list, concurrency) {
      const errors = {};
      let opened = 0;
      await pool(list, concurrency, async (item) => {
        const { error } = await openOne(item);
        if (error) errors[error] = (errors[error] ?? 0) + 1;
        else opened += 1;
      });
      return { opened, errors };
    },
    closeAll() {
      for (const conn of conns.splice(0)) {
        conn.closing = true;
        conn.req.destroy();
      }
      counters.ended = 0;
    },
  };
}

/** Runs `fn` over `items`, at most `concurrency` at a time. */
async function pool(items, concurrency, fn) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

/** A load-generator process: holds streams for the parent, answers its messages over IPC. */
function runWorker() {
  let wrong = 0;
  let received = 0;
  const clients = createClients((conn, data) => {
    received += 1;
    if (data.u !== conn.uid) wrong += 1;
    if (data.k === 'probe' && data.p > conn.probe) conn.probe = data.p;
  });
  process.on('message', async (message) => {
    const reply = (body) => process.send({ id: message.id, ...body });
    if (message.cmd === 'open') {
      reply(await clients.openMany(message.conns, message.concurrency));
    } else if (message.cmd === 'status') {
      let have = 0;
      for (const conn of clients.conns) if (conn.probe >= message.probe) have += 1;
      reply({ have, held: clients.conns.length, ended: clients.counters.ended, wrong, received });
    } else if (message.cmd === 'close') {
      clients.closeAll();
      wrong = 0;
      received = 0;
      reply({});
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === WORKER_FLAG) runWorker();
else runBenchmark();

// ---------------------------------------------------------------------------------------------
// The benchmark.

function runBenchmark() {
  // Workspace packages and ioredis resolve from the events service, which depends on them.
  const require = createRequire(path.join(root, 'services', 'events', 'package.json'));
  const Redis = require('ioredis');
  const { KeyRing } = require('@tenantmesh/config');
  const db = require('@tenantmesh/db');
  const { mintUserToken } = require('@tenantmesh/user-token');
  const { freePort } = require('@tenantmesh/testing');

  const { values: options } = parseArgs({
    options: {
      'max-connections': { type: 'string', default: '8000' },
      'start-connections': { type: 'string', default: '1000' },
      workers: { type: 'string', default: '2' },
      'latency-connections': { type: 'string', default: '1000' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '10' },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
  });
  const settings = {
    maxConnections: Number(options['max-connections']),
    startConnections: Number(options['start-connections']),
    workers: Number(options.workers),
    latencyConnections: Number(options['latency-connections']),
    rate: Number(options.rate),
    seconds: Number(options.seconds),
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!(Number.isInteger(value) && value >= 1)) throw new Error(`--${name}: ${value}`);
  }
  const adminUrl = options['database-url'];
  const redisUrl = options['redis-url'];
  const command = [
    'node bench/events/run.mjs',
    `--max-connections ${settings.maxConnections}`,
    `--start-connections ${settings.startConnections}`,
    `--workers ${settings.workers}`,
    `--latency-connections ${settings.latencyConnections}`,
    `--rate ${settings.rate}`,
    `--seconds ${settings.seconds}`,
  ].join(' ');
  const levels = [];
  for (let n = settings.startConnections; n < settings.maxConnections; n *= 2) levels.push(n);
  levels.push(settings.maxConnections);
  const OPEN_CONCURRENCY = 50; // per generator process
  const PUBLISH_CONCURRENCY = 32; // probe publishes in flight
  const WARM_UP_SECONDS = 2;
  const MAX_IN_FLIGHT = 128; // latency publisher: POSTs out at once (= the agent's sockets)
  const BACKLOG_SECONDS = 2; // latency publisher: sheds an event that waited longer than this

  const cleanups = [];
  const publishAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  cleanups.push(() => publishAgent.destroy());

  async function main() {
    const started = performance.now();
    const fds = fdLimits();
    const name = `tm_bench_${randomBytes(4).toString('hex')}`;
    const dbUrl = await createBenchDatabase({ db, adminUrl, name, cleanups });
    const users = await seedUsers(dbUrl, Math.max(settings.maxConnections, settings.latencyConnections));
    const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-bench-events-'));
    cleanups.push(() => fs.rmSync(secrets, { recursive: true, force: true }));
    for (const file of ['token_keys_gateway_events', 'token_keys_jobs_events']) {
      const ring = { keys: [{ kid: 'k1', key: randomBytes(32).toString('base64') }] };
      fs.writeFileSync(path.join(secrets, file), JSON.stringify(ring), { mode: 0o600 });
    }
    const ring = KeyRing.load('token_keys_gateway_events', path.join(secrets, 'token_keys_gateway_events'));
    // Tokens live 60 s; each user's is reused for at most 50 s.
    const tokens = new Map();
    const token = (uid) => {
      const now = performance.now();
      const cached = tokens.get(uid);
      if (cached && now - cached.at < 50_000) return cached.token;
      const fresh = mintUserToken({ issuer: 'gateway', audience: 'events', uid, ring, ttlSeconds: 60 });
      tokens.set(uid, { token: fresh, at: now });
      return fresh;
    };
    const redisPrefix = `tm_bench_${randomBytes(4).toString('hex')}:`;
    cleanups.push(() => deleteRedisKeys(redisPrefix));

    const servicePort = await freePort();
    const barePort = await freePort();
    const servicePid = await startProcess(
      'events service',
      path.join(root, 'services', 'events', 'dist', 'main.js'),
      [],
      {
        PORT: String(servicePort),
        DATABASE_URL: dbUrl,
        SECRETS_DIR: secrets,
        DATABASE_MIGRATE_ON_BOOT: 'false',
        REDIS_URL: redisUrl,
        EVENTS_REDIS_PREFIX: redisPrefix,
        EVENTS_MAX_STREAMS: '1000000',
        EVENTS_MAX_STREAMS_PER_USER: '16',
        LOG_LEVEL: 'warn',
      },
      servicePort,
      '/readyz',
    );
    const barePid = await startProcess(
      'bare broadcaster',
      path.join(root, 'bench', 'events', 'bare-broadcaster.mjs'),
      [String(barePort)],
      {},
      barePort,
      '/healthz',
    );
    const workers = await startWorkers(settings.workers);

    const targets = [
      {
        key: 'service',
        label: 'events service',
        pid: servicePid,
        stream: (uid) => ({
          uid,
          url: `http://127.0.0.1:${servicePort}/events`,
          headers: { 'x-user-token': token(uid) },
        }),
        publish: (uid, data) =>
          post(servicePort, '/events', { 'x-user-token': token(uid) }, { type: 'bench', data }),
        connections: async () => (await serviceMetrics(servicePort)).connections,
      },
      {
        key: 'bare',
        label: 'bare broadcaster',
        pid: barePid,
        stream: (uid) => ({ uid, url: `http://127.0.0.1:${barePort}/events?uid=${uid}` }),
        publish: (uid, data) => post(barePort, '/publish', {}, { to: uid, data }),
        connections: async () => JSON.parse((await get(barePort, '/stats')).body).connections,
      },
    ];

    log(
      `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    // Each stream is one descriptor in the server and one in a load generator: past its open-files
    // limit a process cannot accept (or open) more, whatever the code does.
    const serverFds = fdLimits(servicePid).soft;
    log(
      `open-files limit: this process ${fds.soft} (hard ${fds.hard}), servers ${serverFds}; service pid ${servicePid}, bare pid ${barePid}, ` +
        `${settings.workers} load-generator process(es)`,
    );
    if (settings.maxConnections + 100 > serverFds) {
      log(
        `note: --max-connections ${settings.maxConnections} is at or above what the open-files limit allows`,
      );
    }
    for (const t of targets) {
      await warmUp(t, users);
      await untilConnections(t, 0);
      await sleep(1000);
      t.idle = memory(t.pid).rss;
      log(`${t.label}: RSS after warm-up, no streams: ${mib(t.idle)} MiB`);
    }

    log(`\n1. connections held: steps ${levels.join(', ')}; one user per connection`);
    for (const t of targets) t.ramp = await ramp(t, users, workers);

    log(
      `\n2. delivery latency: ${settings.latencyConnections} streams, ${settings.rate} events/s for ${settings.seconds} s` +
        ` (after ${WARM_UP_SECONDS} s warm-up), each event to one user`,
    );
    for (const t of targets) t.latency = await latency(t, users, settings.rate);
    // Above what the service accepts, the latency at --rate is mostly time queued for a POST: then
    // measure both again at about half of what the service did accept.
    const accepted = Math.min(...targets.map((t) => t.latency.publishRate));
    if (accepted < 0.95 * settings.rate) {
      const lower = Math.max(10, Math.floor((accepted * 0.5) / 10) * 10);
      log(
        `publishes accepted fell short of ${settings.rate}/s (${accepted.toFixed(0)}/s): again at ${lower}/s,` +
          ` about half of that, where neither side queues`,
      );
      for (const t of targets) t.lower = await latency(t, users, lower);
    }

    const final = await serviceMetrics(servicePort);
    report(targets, final);
    log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
    log(`\ncommand: ${command}`);
  }

  /** A few streams and events through every path, so neither side is measured cold. */
  async function warmUp(t, users) {
    let got = 0;
    const clients = createClients(() => (got += 1));
    const few = users.slice(0, 100);
    const { errors } = await clients.openMany(few.map(t.stream), 20);
    if (Object.keys(errors).length) throw new Error(`${t.label} warm-up: ${JSON.stringify(errors)}`);
    const events = [...few, ...few, ...few];
    await pool(events, PUBLISH_CONCURRENCY, async (uid) => {
      const res = await t.publish(uid, { k: 'warm', u: uid });
      if (res.status >= 300) throw new Error(`${t.label} warm-up publish: ${res.status} ${res.body}`);
    });
    const deadline = performance.now() + 10_000;
    while (got < events.length && performance.now() < deadline) await sleep(20);
    if (got !== events.length) throw new Error(`${t.label} warm-up: ${got} of ${events.length} events`);
    clients.closeAll();
  }

  async function ramp(t, users, workers) {
    const rows = [];
    let held = 0;
    let failure;
    let opened = 0;
    for (const level of levels) {
      const parts = workers.map(() => []);
      users.slice(opened, level).forEach((uid, i) => {
        parts[i % workers.length].push(t.stream(uid));
      });
      const openStarted = performance.now();
      const answers = await Promise.all(
        workers.map((w, i) => w.call({ cmd: 'open', conns: parts[i], concurrency: OPEN_CONCURRENCY })),
      );
      const openSeconds = (performance.now() - openStarted) / 1000;
      const newStreams = level - opened;
      opened = level;
      const openErrors = {};
      for (const a of answers)
        for (const [k, v] of Object.entries(a.errors)) openErrors[k] = (openErrors[k] ?? 0) + v;

      // Probe: one event to every user; every connection must get it.
      const probeStarted = performance.now();
      const publishErrors = {};
      await pool(users.slice(0, level), PUBLISH_CONCURRENCY, async (uid) => {
        try {
          const res = await t.publish(uid, { k: 'probe', p: level, u: uid });
          if (res.status >= 300) publishErrors[res.status] = (publishErrors[res.status] ?? 0) + 1;
        } catch (error) {
          publishErrors[error.code ?? error.message] = (publishErrors[error.code ?? error.message] ?? 0) + 1;
        }
      });
      const publishSeconds = (performance.now() - probeStarted) / 1000;
      let status;
      const deadline = performance.now() + 30_000;
      for (;;) {
        const parts = await Promise.all(workers.map((w) => w.call({ cmd: 'status', probe: level })));
        status = parts.reduce(
          (sum, p) => ({
            have: sum.have + p.have,
            held: sum.held + p.held,
            ended: sum.ended + p.ended,
            wrong: sum.wrong + p.wrong,
          }),
          { have: 0, held: 0, ended: 0, wrong: 0 },
        );
        if (status.have >= level || performance.now() > deadline) break;
        await sleep(50);
      }
      const probeSeconds = (performance.now() - probeStarted) / 1000;
      await sleep(1000);
      const rss = memory(t.pid).rss;
      const serverCount = await t.connections();
      const row = {
        level,
        openRate: newStreams / openSeconds,
        publishRate: level / publishSeconds,
        probeSeconds,
        ...status,
        serverCount,
        rss,
        openErrors,
        publishErrors,
      };
      rows.push(row);
      log(
        `${t.label.padEnd(16)} ${String(level).padStart(6)} streams: opened ${status.held} (${row.openRate.toFixed(0)}/s)` +
          `, server counts ${serverCount}; probe to all published at ${row.publishRate.toFixed(0)}/s, ` +
          `reached ${status.have} in ${probeSeconds.toFixed(1)} s; wrong user ${status.wrong}, dropped by server ${status.ended}` +
          `; RSS ${mib(rss)} MiB${Object.keys(openErrors).length ? `; open errors ${JSON.stringify(openErrors)}` : ''}` +
          `${Object.keys(publishErrors).length ? `; publish errors ${JSON.stringify(publishErrors)}` : ''}`,
      );
      const problems = [];
      if (Object.keys(openErrors).length) problems.push(`open errors ${JSON.stringify(openErrors)}`);
      if (Object.keys(publishErrors).length) problems.push(`publish errors ${JSON.stringify(publishErrors)}`);
      if (status.have < level) problems.push(`probe reached ${status.have} of ${level}`);
      if (status.ended) problems.push(`${status.ended} streams ended by the server`);
      if (status.wrong) problems.push(`${status.wrong} wrong-user deliveries`);
      if (problems.length) {
        failure = `${level}: ${problems.join('; ')}`;
        break;
      }
      held = level;
    }
    await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
    await untilConnections(t, 0);
    const at = rows.find((r) => r.level === held);
    const below = rows[rows.findIndex((r) => r.level === held) - 1];
    return {
      held,
      failure,
      rows,
      rss: at?.rss,
      perConnection: at ? (at.rss - t.idle) / held : undefined,
      // RSS added by the last doubling, per stream added: less sensitive to the heap's start-up growth.
      marginal: at && below ? (at.rss - below.rss) / (at.level - below.level) : undefined,
      openRate: at?.openRate,
    };
  }

  async function latency(t, users, rate) {
    const targets = users.slice(0, settings.latencyConnections);
    const run = { phase: 'w', latencies: [], seen: new Set(), wrong: 0, duplicates: 0, lastAt: 0 };
    const clients = createClients((conn, data, at) => {
      if (data.u !== conn.uid) {
        run.wrong += 1;
        return;
      }
      if (data.k !== 'lat' || data.ph !== run.phase) return;
      if (run.seen.has(data.n)) {
        run.duplicates += 1;
        return;
      }
      run.seen.add(data.n);
      run.latencies.push(at - data.t);
      run.lastAt = at;
    });
    const { errors } = await clients.openMany(targets.map(t.stream), OPEN_CONCURRENCY);
    if (Object.keys(errors).length) throw new Error(`${t.label}: streams failed: ${JSON.stringify(errors)}`);

    /**
     * Open loop: event n is due at n / rate s. At most MAX_IN_FLIGHT POSTs are out; the rest wait
     * here (the wait is recorded apart) and are sent, stamped, with a token taken then, as POSTs
     * finish. An event still waiting BACKLOG_SECONDS after it was due means the server
     * is not keeping up: it is shed (counted, never sent), so waits and the run stay bounded.
     */
    const paced = async (phase, seconds) => {
      run.phase = phase;
      const total = rate * seconds;
      const posts = { accepted: 0, shed: 0, errors: {}, latencies: [], waits: [], lastDone: 0 };
      const waiting = [];
      let inFlight = 0;
      let settled;
      const allSettled = new Promise((resolve) => (settled = resolve));
      let scheduled = 0;
      let finished = 0;
      const startedAt = performance.now();
      const check = () => {
        if (scheduled === total && finished + posts.shed === total) settled();
      };
      const done = () => {
        finished += 1;
        check();
      };
      const dispatch = () => {
        while (inFlight < MAX_IN_FLIGHT && waiting.length > 0) {
          const { n, due } = waiting.shift();
          if (performance.now() - due > BACKLOG_SECONDS * 1000) {
            posts.shed += 1;
            check();
            continue;
          }
          const uid = targets[n % targets.length];
          const sentAt = performance.now();
          // The publish timestamp: this process's clock, just before the POST goes out.
          const data = { k: 'lat', ph: phase, n, t: Math.round(sentAt * 1000) / 1000, u: uid };
          posts.waits.push(sentAt - due);
          inFlight += 1;
          t.publish(uid, data).then(
            (res) => {
              const at = performance.now();
              posts.lastDone = at;
              if (res.status < 300) {
                posts.accepted += 1;
                posts.latencies.push(at - sentAt);
              } else posts.errors[res.status] = (posts.errors[res.status] ?? 0) + 1;
              inFlight -= 1;
              dispatch();
              done();
            },
            (error) => {
              const k = error.code ?? error.message;
              posts.errors[k] = (posts.errors[k] ?? 0) + 1;
              inFlight -= 1;
              dispatch();
              done();
            },
          );
        }
      };
      await new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          // Event n is due at n / rate s: events 0 … floor(elapsed × rate) are due now.
          const due = Math.min(total, Math.floor(((now - startedAt) / 1000) * rate) + 1);
          for (; scheduled < due; scheduled++) {
            waiting.push({ n: scheduled, due: startedAt + (scheduled / rate) * 1000 });
          }
          dispatch();
          if (scheduled >= total) resolve();
          else setTimeout(tick, 1);
        };
        tick();
      });
      const sendSeconds = (performance.now() - startedAt) / 1000;
      check();
      // Events still waiting are sent as POSTs finish, or shed once too late.
      const sweep = setInterval(dispatch, 50);
      await allSettled;
      clearInterval(sweep);
      const deadline = performance.now() + 15_000;
      while (run.seen.size < posts.accepted && performance.now() < deadline) await sleep(20);
      await sleep(200); // late duplicates or strays
      return { startedAt, sendSeconds, posts, total };
    };

    await paced('w', WARM_UP_SECONDS);
    run.latencies = [];
    run.seen = new Set();
    run.duplicates = 0;
    const cpuBefore = cpuSeconds(t.pid);
    const selfBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const { startedAt, sendSeconds, posts, total } = await paced('m', settings.seconds);
    const end = Math.max(posts.lastDone, run.lastAt);
    const wall = (end - wallBefore) / 1000;
    const cpu = (cpuSeconds(t.pid) - cpuBefore) / wall;
    const selfUsage = process.cpuUsage(selfBefore);
    const generatorCpu = (selfUsage.user + selfUsage.system) / 1e6 / wall;
    const rss = memory(t.pid).rss;
    clients.closeAll();
    await untilConnections(t, 0);

    const sorted = [...run.latencies].sort((a, b) => a - b);
    const postSorted = [...posts.latencies].sort((a, b) => a - b);
    const waitSorted = [...posts.waits].sort((a, b) => a - b);
    const result = {
      rate,
      total,
      sendSeconds,
      accepted: posts.accepted,
      shed: posts.shed,
      publishErrors: posts.errors,
      errorCount: Object.values(posts.errors).reduce((sum, v) => sum + v, 0),
      publishRate: posts.accepted / ((posts.lastDone - startedAt) / 1000),
      delivered: run.seen.size,
      deliveryRate: run.seen.size / ((run.lastAt - startedAt) / 1000),
      lost: posts.accepted - run.seen.size,
      duplicates: run.duplicates,
      wrong: run.wrong,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted.at(-1),
      postP50: quantile(postSorted, 0.5),
      postP99: quantile(postSorted, 0.99),
      waitP50: quantile(waitSorted, 0.5),
      waitP99: quantile(waitSorted, 0.99),
      cpu,
      generatorCpu,
      rss,
    };
    log(
      `${t.label.padEnd(16)} ${rate}/s offered: published ${result.accepted}/${total} at ${result.publishRate.toFixed(0)}/s` +
        `${posts.shed ? ` (${posts.shed} shed: waited ${BACKLOG_SECONDS} s)` : ''}` +
        ` (sent in ${sendSeconds.toFixed(1)} s; wait for a POST slot p50 ${ms(result.waitP50)} p99 ${ms(result.waitP99)} ms;` +
        ` POST p50 ${ms(result.postP50)} p99 ${ms(result.postP99)} ms)` +
        `, delivered ${result.delivered} at ${result.deliveryRate.toFixed(0)}/s; latency p50 ${ms(result.p50)}` +
        ` p99 ${ms(result.p99)} max ${ms(result.max)} ms; lost ${result.lost}, duplicates ${result.duplicates}` +
        `, wrong user ${result.wrong}; CPU ${pct(cpu)} (generator ${pct(generatorCpu)}), RSS ${mib(rss)} MiB` +
        `${Object.keys(posts.errors).length ? `; publish errors ${JSON.stringify(posts.errors)}` : ''}`,
    );
    return result;
  }

  function report(targets, final) {
    const [s, b] = targets;
    const r = (x, y) => (x !== undefined && y ? (x / y).toFixed(2) : 'n/a');
    const heldText = (t) =>
      `${t.ramp.held}${t.ramp.held === settings.maxConnections ? ' (every step: no ceiling found)' : ''}`;
    const kib = (bytes) => (bytes === undefined ? 'n/a' : (bytes / 1024).toFixed(1));
    const rows = [
      ['streams held (all opened, probe reached all)', heldText(s), heldText(b), r(s.ramp.held, b.ramp.held)],
      ['RSS idle, MiB', mib(s.idle), mib(b.idle), r(s.idle, b.idle)],
      ['RSS at the held step, MiB', mib(s.ramp.rss), mib(b.ramp.rss), r(s.ramp.rss, b.ramp.rss)],
      [
        'RSS per stream (held − idle) ÷ streams, KiB',
        kib(s.ramp.perConnection),
        kib(b.ramp.perConnection),
        r(s.ramp.perConnection, b.ramp.perConnection),
      ],
      [
        'RSS per stream, last doubling, KiB',
        kib(s.ramp.marginal),
        kib(b.ramp.marginal),
        r(s.ramp.marginal, b.ramp.marginal),
      ],
      [
        'streams opened per s (last step)',
        s.ramp.openRate?.toFixed(0),
        b.ramp.openRate?.toFixed(0),
        r(s.ramp.openRate, b.ramp.openRate),
      ],
      ...latencyRows(s.latency, b.latency),
      ...(s.lower ? latencyRows(s.lower, b.lower) : []),
    ];
    log(`\nresults (ratios: service ÷ bare; latency = receipt − publish, same clock; CPU 100 % = one core)`);
    log('| | events service | bare broadcaster | service / bare |');
    log('| --- | ---: | ---: | ---: |');
    for (const row of rows) log(`| ${row.join(' | ')} |`);
    for (const t of targets) if (t.ramp.failure) log(`${t.label}: stopped at step ${t.ramp.failure}`);
    log(
      `\nevents service's own counters: published ${final.published}, delivered ${final.delivered}` +
        ` (of which gap fills ${final.replayed}), dropped ${final.dropped} (wrong_uid ${final.wrongUid}),` +
        ` streams rejected ${final.rejected}`,
    );
    const runs = (t) => [t.latency, t.lower].filter(Boolean);
    const all = targets.flatMap((t) => [...runs(t), ...t.ramp.rows]);
    const mismatches = all.reduce((sum, x) => sum + x.wrong, 0) + final.wrongUid;
    const lost = targets.flatMap(runs).reduce((sum, x) => sum + x.lost + x.duplicates, 0);
    log(`wrong-user deliveries, all phases and both setups: ${mismatches}; lost + duplicate: ${lost}`);
    if (mismatches || lost) process.exitCode = 1;
  }

  function latencyRows(s, b) {
    const r = (x, y) => (x !== undefined && y ? (x / y).toFixed(2) : 'n/a');
    const saturated = s.publishRate < 0.95 * s.rate || b.publishRate < 0.95 * b.rate;
    const at = `at ${s.rate}/s${saturated ? ' (saturated)' : ''}:`;
    return [
      [
        `${at} events offered / shed (waited ${BACKLOG_SECONDS} s)`,
        `${s.total} / ${s.shed}`,
        `${b.total} / ${b.shed}`,
        '',
      ],
      [
        `${at} publishes accepted per s`,
        s.publishRate.toFixed(0),
        b.publishRate.toFixed(0),
        r(s.publishRate, b.publishRate),
      ],
      [
        `${at} deliveries per s`,
        s.deliveryRate.toFixed(0),
        b.deliveryRate.toFixed(0),
        r(s.deliveryRate, b.deliveryRate),
      ],
      [`${at} latency p50, ms`, ms(s.p50), ms(b.p50), r(s.p50, b.p50)],
      [`${at} latency p99, ms`, ms(s.p99), ms(b.p99), r(s.p99, b.p99)],
      [`${at} latency max, ms`, ms(s.max), ms(b.max), r(s.max, b.max)],
      [
        `${at} wait for a POST slot p50 / p99, ms`,
        `${ms(s.waitP50)} / ${ms(s.waitP99)}`,
        `${ms(b.waitP50)} / ${ms(b.waitP99)}`,
        '',
      ],
      [
        `${at} POST p50 / p99, ms`,
        `${ms(s.postP50)} / ${ms(s.postP99)}`,
        `${ms(b.postP50)} / ${ms(b.postP99)}`,
        '',
      ],
      [`${at} server CPU`, pct(s.cpu), pct(b.cpu), r(s.cpu, b.cpu)],
      [`${at} lost / duplicate / wrong-user`, checks(s), checks(b), ''],
    ];
  }
  const checks = (x) =>
    `${x.lost} / ${x.duplicates} / ${x.wrong}${x.errorCount ? ` (POST errors ${JSON.stringify(x.publishErrors)})` : ''}`;

  async function untilConnections(t, want) {
    const deadline = performance.now() + 30_000;
    let now;
    while (performance.now() < deadline) {
      now = await t.connections();
      if (now === want) return;
      await sleep(100);
    }
    throw new Error(`${t.label}: still ${now} streams open, expected ${want}`);
  }

  async function serviceMetrics(port) {
    const text = (await get(port, '/metrics')).body;
    // Series carry default labels (service="events"): sum every series of `name` whose labels hold `label`.
    const sum = (name, label = '') => {
      let total = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
        if ((m[1] ?? '').includes(label)) total += Number(m[2]);
      }
      return total;
    };
    return {
      connections: sum('tenantmesh_sse_connections'),
      delivered: sum('tenantmesh_events_delivered_total'),
      published: sum('tenantmesh_events_published_total'),
      wrongUid: sum('tenantmesh_events_dropped_total', 'reason="wrong_uid"'),
      dropped: sum('tenantmesh_events_dropped_total'),
      replayed: sum('tenantmesh_events_replayed_total'),
      rejected: sum('tenantmesh_sse_rejected_total'),
    };
  }

  function post(port, urlPath, headers, body) {
    const payload = JSON.stringify(body);
    return request(
      port,
      'POST',
      urlPath,
      {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
      payload,
    );
  }

  function get(port, urlPath) {
    return request(port, 'GET', urlPath, {});
  }

  function request(port, method, urlPath, headers, payload) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method, path: urlPath, headers, agent: publishAgent },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function startWorkers(count) {
    const workers = [];
    for (let i = 0; i < count; i++) {
      const child = fork(self, [WORKER_FLAG], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      });
      const waiting = new Map();
      let nextId = 0;
      child.on('message', (m) => {
        waiting.get(m.id)?.resolve(m);
        waiting.delete(m.id);
      });
      child.once('exit', (code, signal) => {
        for (const w of waiting.values()) w.reject(new Error(`load generator exited (${code ?? signal})`));
      });
      workers.push({
        call: (message) =>
          new Promise((resolve, reject) => {
            const id = nextId++;
            waiting.set(id, { resolve, reject });
            child.send({ ...message, id });
          }),
      });
    }
    return workers;
  }

  async function startProcess(label, script, args, env, port, readyPath) {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-8000)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      if (stderr) process.stderr.write(`${label} stderr:\n${stderr}\n`);
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${label} exited: ${stderr}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
        if (res.ok) return child.pid;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`${label} not ready: ${stderr}`);
  }

  async function seedUsers(url, count) {
    const owner = db.connectSql({ url, user: db.OWNER_ROLE, max: 1 });
    try {
      const rows = await owner`
        insert into user_sessions (provider, subject)
        select 'bench', 'bench-' || g from generate_series(1, ${count}) g returning id`;
      return rows.map((r) => r.id);
    } finally {
      await owner.end();
    }
  }

  async function deleteRedisKeys(prefix) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      await redis.quit();
    }
  }

  runBench(main, cleanups);
}

// ---------------------------------------------------------------------------------------------

function quantile(sorted, q) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
function ms(value) {
  return value === undefined ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1);
}
function mib(bytes) {
  return bytes === undefined ? 'n/a' : (bytes / MiB).toFixed(0);
}
function pct(fraction) {
  return `${(fraction * 100).toFixed(0)} %`;
}

/** The open-files limits of a process (Node raises its soft limit to the hard one at start-up). */
function fdLimits(pid = 'self') {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
  const num = (v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: num(line[1]), hard: num(line[2]) };
}

/** utime + stime of a process; /proc counts them in USER_HZ ticks, 100 per second on Linux. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024 };
}
