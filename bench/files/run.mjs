#!/usr/bin/env node
// Upload and download throughput and peak RSS of the files service (its built dist/main.js, its
// own process, local backend) for a small and a large object, against plain file copies of the
// same bytes in the same run, interleaved round by round:
//   copy          createReadStream → createWriteStream, in this process: the limit
//   copy + fsync  the same with flush: true (the service fsyncs every object before publishing it)
//   fs.copyFile   a second reference (may reflink or use copy_file_range)
//   encrypt copy  a stream copy through SHA-256 and the service's own createEncryptStream
//   decrypt copy  that ciphertext through the service's own createDecryptStream
//   upload        PUT /objects/<uid>/<name>, the body streamed from the source file
//   download      GET /objects/<uid>/<name>, the body streamed into a file
// Every upload's SHA-256 (from the service's answer) and every download's and decrypt copy's
// (hashed after the clock stops) must equal the source's, or the run aborts. Peak RSS is VmHWM of
// the service process, reset before each measurement by writing 5 to /proc/<pid>/clear_refs.
// On demand only (`pnpm bench:files`), never in tests. Linux only (reads /proc).
//
// Needs: `pnpm build`; PostgreSQL at --database-url (default postgres://postgres@127.0.0.1:5432/postgres,
// a superuser, trust auth), where it creates and at the end drops a throwaway database; about
// 4 × --large-mib of free space in the temporary directory. Knobs: --rounds (default 3; medians
// are reported), --large-mib (default 512), --small-count (1 MiB transfers per measurement, default 50).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase, runBench } from '../lib/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Workspace packages resolve from the files service, which depends on them.
const require = createRequire(path.join(root, 'services', 'files', 'package.json'));
const { KeyRing } = require('@tenantmesh/config');
const db = require('@tenantmesh/db');
const { mintUserToken } = require('@tenantmesh/user-token');
const { freePort } = require('@tenantmesh/testing');
const { createDecryptStream, createEncryptStream, DEFAULT_CHUNK_BYTES } = require(
  path.join(root, 'services', 'files', 'dist', 'crypto'),
);

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'large-mib': { type: 'string', default: '512' },
    'small-count': { type: 'string', default: '50' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const MiB = 1024 * 1024;
const settings = {
  rounds: Number(options.rounds),
  largeMiB: Number(options['large-mib']),
  smallCount: Number(options['small-count']),
  adminUrl: options['database-url'],
};
for (const [name, value] of Object.entries(settings)) {
  if (name !== 'adminUrl' && !(Number.isInteger(value) && value >= 1)) throw new Error(`--${name}: ${value}`);
}
const command = [
  'node bench/files/run.mjs',
  `--rounds ${settings.rounds}`,
  `--large-mib ${settings.largeMiB}`,
  `--small-count ${settings.smallCount}`,
].join(' ');
const sizes = [
  { label: '1 MiB', bytes: MiB, count: settings.smallCount },
  { label: `${settings.largeMiB} MiB`, bytes: settings.largeMiB * MiB, count: 1 },
];

const cleanups = [];
const log = (line) => process.stdout.write(`${line}\n`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
cleanups.push(() => agent.destroy());

async function main() {
  const name = `tm_bench_${randomBytes(4).toString('hex')}`;
  const dbUrl = await createBenchDatabase({ db, adminUrl: settings.adminUrl, name, cleanups });
  const uid = await seedUser(dbUrl);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-bench-files-'));
  cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
  const secrets = path.join(work, 'secrets');
  fs.mkdirSync(secrets, { mode: 0o700 });
  for (const file of ['token_keys_gateway_files', 'token_keys_jobs_files', 'files_master_keys']) {
    const ring = { keys: [{ kid: 'k1', key: randomBytes(32).toString('base64') }] };
    fs.writeFileSync(path.join(secrets, file), JSON.stringify(ring), { mode: 0o600 });
  }
  const ring = KeyRing.load('token_keys_gateway_files', path.join(secrets, 'token_keys_gateway_files'));
  // Tokens live at most 60 s: one per request.
  const token = () => mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring, ttlSeconds: 60 });

  const port = await freePort();
  const maxObject = Math.max(1024 * MiB, settings.largeMiB * MiB);
  const pid = await startService(
    {
      PORT: String(port),
      DATABASE_URL: dbUrl,
      SECRETS_DIR: secrets,
      DATABASE_MIGRATE_ON_BOOT: 'false',
      LOG_LEVEL: 'warn',
      FILES_BACKEND: 'local',
      FILES_ROOT: path.join(work, 'store'),
      FILES_MAX_OBJECT_BYTES: String(maxObject),
      FILES_QUOTA_BYTES: String(4 * maxObject),
    },
    port,
  );
  const resetPeak = () => {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return memory(pid).rss;
  };

  const out = path.join(work, 'out');
  const enc = path.join(work, 'enc');
  const context = 'files:v1:bench:bench';
  let dataKey;
  const objectsOf = (size, round) =>
    Array.from({ length: size.count }, (_, i) => `bench-${size.bytes}-r${round}-${i}.bin`);
  const steps = [
    { key: 'copy', label: 'stream copy (the limit)', run: (s) => timed(() => streamCopy(s.file, out)) },
    {
      key: 'copyFsync',
      label: 'stream copy + fsync',
      run: (s) => timed(() => streamCopy(s.file, out, { flush: true })),
    },
    { key: 'copyFile', label: 'fs.copyFile', run: (s) => timed(() => fs.promises.copyFile(s.file, out)) },
    {
      key: 'encrypt',
      label: 'copy via SHA-256 + encrypt',
      run: async (s) => {
        dataKey = randomBytes(32);
        const hash = createHash('sha256');
        const hashing = new Transform({
          transform(chunk, _encoding, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        });
        const cipher = createEncryptStream({ dataKey, chunkBytes: DEFAULT_CHUNK_BYTES, context });
        const seconds = await timed(() => streamCopy(s.file, enc, { through: [hashing, cipher] }));
        expectHash('encrypt copy', hash.digest('hex'), s.sha256);
        return seconds;
      },
    },
    {
      key: 'decrypt',
      label: 'copy via decrypt',
      run: async (s) => {
        const options = { dataKey, chunkBytes: DEFAULT_CHUNK_BYTES, context, plainBytes: s.bytes };
        const seconds = await timed(() => streamCopy(enc, out, { through: [createDecryptStream(options)] }));
        expectHash('decrypt copy', await sha256Of(out), s.sha256);
        return seconds;
      },
    },
    {
      key: 'upload',
      label: 'files upload (PUT)',
      service: true,
      run: async (s, i, round) => {
        const object = objectsOf(s, round)[i];
        let answer;
        const seconds = await timed(async () => {
          answer = await request('PUT', port, `/objects/${uid}/${object}`, token(), {
            file: s.file,
            bytes: s.bytes,
          });
        });
        if (answer.size !== s.bytes) throw new Error(`upload stored ${answer.size} bytes, sent ${s.bytes}`);
        expectHash('upload', answer.sha256, s.sha256);
        return seconds;
      },
    },
    {
      key: 'download',
      label: 'files download (GET)',
      service: true,
      run: async (s, i, round) => {
        const object = objectsOf(s, round)[i];
        const seconds = await timed(() =>
          request('GET', port, `/objects/${uid}/${object}`, token(), { out }),
        );
        expectHash('download', await sha256Of(out), s.sha256);
        return seconds;
      },
    },
  ];
  const deleteObjects = async (size, round) => {
    for (const object of objectsOf(size, round))
      await request('DELETE', port, `/objects/${uid}/${object}`, token());
  };

  // One pass of every step (a few 1 MiB transfers) checks the answers and warms the JIT.
  const warm = { ...sizes[0], count: 5, file: path.join(work, 'warm') };
  warm.sha256 = await writeRandomFile(warm.file, warm.bytes);
  for (const step of steps) for (let i = 0; i < warm.count; i++) await step.run(warm, i, 0);
  await deleteObjects(warm, 0);
  const idle = memory(pid).rss;

  log(
    `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, temp dir ${os.tmpdir()}`,
  );
  log(`files service pid ${pid}, RSS after warm-up ${mib(idle)} MiB`);
  log(
    `${settings.rounds} round(s); per round ${settings.smallCount} × 1 MiB and 1 × ${settings.largeMiB} MiB per step\n`,
  );

  const results = [];
  for (const size of sizes) {
    size.file = path.join(work, `source-${size.bytes}`);
    size.sha256 = await writeRandomFile(size.file, size.bytes);
    const rows = Object.fromEntries(steps.map((s) => [s.key, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const step of steps) {
        const start = step.service ? resetPeak() : undefined;
        let seconds = 0;
        let cpu = 0;
        for (let i = 0; i < size.count; i++) {
          const cpuBefore = step.service ? cpuSeconds(pid) : 0;
          seconds += await step.run(size, i, round);
          if (step.service) cpu += cpuSeconds(pid) - cpuBefore;
          fs.rmSync(out, { force: true });
        }
        const peak = step.service ? memory(pid).hwm : undefined;
        const mbps = (size.count * size.bytes) / seconds / 1e6;
        rows[step.key].push({ mbps, start, peak, cpu: cpu / seconds });
        const extra = step.service
          ? `  peak RSS ${mib(peak)} MiB (+${mib(Math.max(0, peak - start))})  files CPU ${pct(cpu / seconds)}`
          : '';
        log(
          `${size.label.padStart(8)} round ${round} ${step.label.padEnd(28)} ${mbps.toFixed(0).padStart(6)} MB/s${extra}`,
        );
      }
      await deleteObjects(size, round);
    }
    fs.rmSync(size.file);
    fs.rmSync(enc, { force: true });
    results.push({ size, rows });
  }

  const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  log(
    '\nmedians (MB = 10^6 bytes; peak RSS = the largest over the rounds, Δ = above the RSS at its start;' +
      ' files CPU = its CPU time over the transfer time, median, 100 % = one core)',
  );
  log('| object | path | MB/s | ÷ copy | peak RSS MiB | Δ MiB | files CPU |');
  log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const summary = [];
  for (const { size, rows } of results) {
    const m = Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, median(r.map((x) => x.mbps))]));
    summary.push({ size, m });
    for (const step of steps) {
      const r = rows[step.key];
      const rss = step.service
        ? `${mib(Math.max(...r.map((x) => x.peak)))} | ${mib(Math.max(0, ...r.map((x) => x.peak - x.start)))} | ${pct(median(r.map((x) => x.cpu)))}`
        : ' |  | ';
      log(
        `| ${size.label} | ${step.label} | ${m[step.key].toFixed(0)} | ${(m[step.key] / m.copy).toFixed(2)} | ${rss} |`,
      );
    }
  }
  log('\nratios (files ÷ reference, throughput)');
  for (const { size, m } of summary) {
    const r = (x, y) => (x / y).toFixed(2);
    log(
      `${size.label.padStart(8)}  upload / copy ${r(m.upload, m.copy)}  download / copy ${r(m.download, m.copy)}` +
        `  upload / (copy + fsync) ${r(m.upload, m.copyFsync)}  upload / encrypt copy ${r(m.upload, m.encrypt)}` +
        `  download / decrypt copy ${r(m.download, m.decrypt)}`,
    );
  }
  log(`\ncommand: ${command}`);
}

const timed = async (fn) => {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
};
const mib = (bytes) => (bytes / MiB).toFixed(0);
const pct = (fraction) => `${(fraction * 100).toFixed(0)} %`;

function expectHash(what, got, want) {
  if (got !== want) throw new Error(`${what}: SHA-256 ${got} differs from the source's ${want}`);
}

function streamCopy(from, to, { flush = false, through = [] } = {}) {
  return pipeline(fs.createReadStream(from), ...through, fs.createWriteStream(to, { flush }));
}

async function sha256Of(file) {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

async function writeRandomFile(file, bytes) {
  const hash = createHash('sha256');
  const out = fs.createWriteStream(file);
  for (let left = bytes; left > 0; left -= Math.min(left, 16 * MiB)) {
    const piece = randomBytes(Math.min(left, 16 * MiB));
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  return hash.digest('hex');
}

/** utime + stime of a process; /proc counts them in USER_HZ ticks, 100 per second on Linux. */
function cpuSeconds(pid) {
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]) * 1024;
  return { rss: kB('VmRSS'), hwm: kB('VmHWM') };
}

/** PUT streams `body.file`, GET streams into `body.out`; rejects on any status but 2xx. Resolves to the JSON answer, if any. */
function request(method, port, urlPath, token, body = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'x-user-token': token };
    if (body.file)
      Object.assign(headers, { 'content-type': 'application/octet-stream', 'content-length': body.bytes });
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers }, (res) => {
      if (res.statusCode >= 200 && res.statusCode < 300 && body.out) {
        pipeline(res, fs.createWriteStream(body.out)).then(resolve, reject);
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode < 200 || res.statusCode >= 300)
          reject(new Error(`${method} ${urlPath}: ${res.statusCode} ${text}`));
        else resolve(text ? JSON.parse(text) : undefined);
      });
    });
    req.on('error', reject);
    if (body.file) fs.createReadStream(body.file).on('error', reject).pipe(req);
    else req.end();
  });
}

async function seedUser(url) {
  const owner = db.connectSql({ url, user: db.OWNER_ROLE, max: 1 });
  try {
    const [user] =
      await owner`insert into user_sessions (provider, subject) values ('bench', 'bench') returning id`;
    return user.id;
  } finally {
    await owner.end();
  }
}

/** Starts services/files/dist/main.js and resolves to its pid once /readyz answers 200. */
async function startService(env, port) {
  const child = spawn(process.execPath, [path.join(root, 'services', 'files', 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-8000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    if (stderr) process.stderr.write(`files service stderr:\n${stderr}\n`);
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`files exited: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return child.pid;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`files not ready: ${stderr}`);
}

runBench(main, cleanups);
