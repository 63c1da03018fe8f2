import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrapDatabase, connectSql, DEFAULT_RUNTIME_LOGIN } from '@tenantmesh/db';
import {
  connectAdmin,
  createEmptyDatabase,
  createSecretsDir,
  freePort,
  type SecretsDir,
  type ServiceProcess,
  startPostgresProcess,
  startServiceProcess,
  type TestDatabase,
} from '@tenantmesh/testing';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');

/** Worker processes (dist/main.js, JOBS_MODE=worker) with the diagnostics.sleep type (lock timeout 3 s). */
function startWorker(databaseUrl: string, secrets: SecretsDir, env: Record<string, string> = {}) {
  return freePort().then(async (port) => {
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: databaseUrl,
      SECRETS_DIR: secrets.dir,
      PORT: String(port),
      JOBS_MODE: 'worker',
      JOBS_DIAGNOSTIC_TYPES: 'true',
      FILES_URL: 'http://127.0.0.1:9',
      EVENTS_URL: 'http://127.0.0.1:9',
      JOBS_HEARTBEAT_MS: '250',
      JOBS_REAP_INTERVAL_MS: '250',
      JOBS_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
      ...env,
    });
    await service.ready(port, 30_000);
    return service;
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('jobs: surviving faults, with real processes', () => {
  let secrets: SecretsDir;
  beforeAll(() => {
    secrets = createSecretsDir();
    for (const name of ['token_keys_gateway_jobs', 'token_keys_jobs_files', 'token_keys_jobs_events']) {
      secrets.writeRing(name);
    }
  });
  afterAll(() => secrets.remove());

  describe('on the shared server', () => {
    let db: TestDatabase;
    let admin: ReturnType<typeof connectAdmin>;
    let uid: string;
    const workers: ServiceProcess[] = [];

    beforeAll(async () => {
      db = await createEmptyDatabase();
      workers.push(await startWorker(db.url, secrets)); // migrates the empty database
      admin = connectAdmin(db.url);
      [{ id: uid }] =
        (await admin`insert into user_sessions (provider, subject) values ('test', 'faults') returning id`) as unknown as [
          { id: string },
        ];
      workers.pop()!.child.kill('SIGKILL');
    });
    afterAll(async () => {
      for (const w of workers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await admin.end();
      await db.drop();
    });

    const enqueue = async (payload: object) => {
      const [row] = await admin<{ id: string }[]>`
        insert into jobs (user_id, type, payload, max_attempts, lock_timeout_seconds)
        values (${uid}, 'diagnostics.sleep', ${admin.json(payload as never)}, 3, 3) returning id`;
      return row!.id;
    };
    const jobRow = async (id: string) =>
      (
        await admin<{ state: string; attempts: number; locked_by: string | null; result: unknown }[]>`
        select state, attempts, locked_by, result from jobs where id = ${id}`
      )[0]!;

    it('kill -9 of a worker mid-job: the job is reaped and completed by another worker', async () => {
      const victim = await startWorker(db.url, secrets);
      workers.push(victim);
      const id = await enqueue({ ms: 2500 });
      await eventually(
        async () => (await jobRow(id)).state === 'running',
        10_000,
        'claimed by the first worker',
      );
      const takenBy = (await jobRow(id)).locked_by;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const rescuer = await startWorker(db.url, secrets);
      workers.push(rescuer);
      await eventually(
        async () => (await jobRow(id)).state === 'succeeded',
        30_000,
        'completed after the crash',
      );
      const done = await jobRow(id);
      expect(done.attempts).toBe(2);
      expect(done.result).toEqual({ slept: 2500, attempt: 2 });
      expect(takenBy).not.toBeNull();
      // Leave the next test a queue with no other worker on it.
      rescuer.child.kill('SIGKILL');
      await rescuer.exited;
    }, 60_000);

    it('SIGTERM: stops claiming, finishes a short job, releases a long one, and exits 0 within the grace period', async () => {
      const worker = await startWorker(db.url, secrets, {
        JOBS_SHUTDOWN_GRACE_MS: '1500',
        JOBS_CONCURRENCY: '2',
      });
      workers.push(worker);
      const short = await enqueue({ ms: 500 });
      const long = await enqueue({ ms: 60_000 });
      await eventually(
        async () => (await jobRow(short)).state === 'running' && (await jobRow(long)).state === 'running',
        10_000,
        'both claimed',
      );
      const stopped = Date.now();
      worker.child.kill('SIGTERM');
      const later = await enqueue({ ms: 1 });
      expect(await worker.exited).toBe(0);
      expect(Date.now() - stopped).toBeLessThan(20_000);
      expect(await jobRow(short)).toMatchObject({ state: 'succeeded' });
      expect(await jobRow(long)).toMatchObject({ state: 'queued', attempts: 0, locked_by: null });
      expect(await jobRow(later)).toMatchObject({ state: 'queued', attempts: 0 });
      await admin`delete from jobs where id in (${long}, ${later})`;
    }, 60_000);
  });

  it('a PostgreSQL restart under load: workers reconnect by themselves and no job is lost', async () => {
    // A server of its own: this test stops it.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-jobs-pg-'));
    fs.chmodSync(dataDir, 0o755);
    const port = await freePort();
    const start = () => startPostgresProcess({ dataDir: path.join(dataDir, 'data'), port });
    let pg = await start();
    const url = pg.url('tenantmesh_jobs_faults');
    const su = connectSql({ url: pg.url('postgres'), user: 'postgres', max: 1 });
    await bootstrapDatabase(su, { database: 'tenantmesh_jobs_faults', runtimeLogin: DEFAULT_RUNTIME_LOGIN });
    await su.end();
    const workers = [
      await startWorker(url, secrets, { JOBS_CONCURRENCY: '8' }),
      await startWorker(url, secrets, { JOBS_CONCURRENCY: '8' }),
    ];
    const owner = connectSql({ url, user: 'tenantmesh_owner', max: 2 });
    try {
      const [{ id: uid }] =
        (await owner`insert into user_sessions (provider, subject) values ('test', 'restart') returning id`) as unknown as [
          { id: string },
        ];
      const total = 300;
      await owner`
        insert into jobs (user_id, type, payload, max_attempts, lock_timeout_seconds)
        select ${uid}, 'diagnostics.sleep', '{"ms": 20}'::jsonb, 10, 3 from generate_series(1, ${total})`;
      await eventually(
        async () => {
          const [r] = await owner<
            { n: number }[]
          >`select count(*)::int as n from jobs where state = 'succeeded'`;
          return r!.n >= 40;
        },
        30_000,
        'some jobs done before the restart',
      );
      await pg.stop();
      await sleep(1500);
      pg = await start();
      await eventually(
        async () => {
          const [r] = await owner<
            { n: number }[]
          >`select count(*)::int as n from jobs where state = 'succeeded'`.catch(() => [{ n: 0 }]);
          return r!.n === total;
        },
        90_000,
        'every job succeeded after the restart',
      ).catch((error: Error) => {
        // What the workers said is the only trace of why they did not recover.
        const said = workers.map((w, i) => `--- worker ${i} ---\n${w.output().slice(-4000)}`).join('\n');
        throw new Error(`${error.message}\n${said}`);
      });
      const [{ n: lost }] =
        (await owner`select count(*)::int as n from jobs where state <> 'succeeded'`) as unknown as [
          { n: number },
        ];
      expect(lost).toBe(0);
      for (const w of workers) expect(w.child.exitCode).toBeNull(); // they rode it out, no restart
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await owner.end({ timeout: 1 }).catch(() => undefined);
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
