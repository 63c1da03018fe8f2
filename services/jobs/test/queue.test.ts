import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '@tenantmesh/db';
import request from 'supertest';
import { z } from 'zod';
import { defineJobType } from '../src/job-types';
import { retryDelayMs } from '../src/queue/backoff';
import { queueStore } from '../src/queue/queue-store';
import { createJobsContext, type JobsContext } from './support/jobs-context';

/** Every run of every job, across workers: the proof that none ran twice at once and none was skipped. */
const runs: { id: string; n: number; worker: string }[] = [];
let running = new Set<string>();
let overlaps = 0;

const record = defineJobType({
  type: 'test.record',
  payload: z.object({ n: z.number().int(), ms: z.number().int().default(5) }).strict(),
  userCreatable: true,
  maxAttempts: 3,
  lockTimeoutSeconds: 60,
  backoff: { baseMs: 10, maxMs: 50 },
  run: async (ctx, payload) => {
    if (running.has(ctx.jobId)) overlaps += 1;
    running.add(ctx.jobId);
    await sleep(payload.ms);
    running.delete(ctx.jobId);
    runs.push({ id: ctx.jobId, n: payload.n, worker: '' });
    return { n: payload.n };
  },
});
const failing = defineJobType({
  type: 'test.fail',
  payload: z.object({}).strict(),
  userCreatable: true,
  maxAttempts: 3,
  lockTimeoutSeconds: 60,
  backoff: { baseMs: 10, maxMs: 40 },
  run: async (ctx) => {
    throw new Error(`boom on attempt ${ctx.attempt}`);
  },
});
const slow = defineJobType({
  type: 'test.slow',
  payload: z.object({ ms: z.number().int() }).strict(),
  userCreatable: true,
  maxAttempts: 5,
  lockTimeoutSeconds: 1,
  backoff: { baseMs: 10, maxMs: 40 },
  run: async (ctx, payload) => {
    await sleep(payload.ms, undefined, { signal: ctx.signal });
    return { done: true };
  },
});
const internal = defineJobType({
  type: 'test.internal',
  payload: z.object({}).strict(),
  userCreatable: false,
  maxAttempts: 1,
  lockTimeoutSeconds: 60,
  backoff: { baseMs: 10, maxMs: 10 },
  run: async () => ({}),
});

describe('jobs: the queue', () => {
  let ctx: JobsContext;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    ctx = await createJobsContext([record, failing, slow, internal] as never);
    alice = await ctx.newUser('alice');
    bob = await ctx.newUser('bob');
  });
  afterAll(async () => {
    await ctx.close();
  });
  beforeEach(() => {
    runs.length = 0;
    running = new Set();
    overlaps = 0;
  });

  const enqueue = (uid: string, body: object) =>
    request(ctx.app).post('/jobs').set('X-User-Token', ctx.tokenFor(uid)).send(body);
  const jobOf = async (uid: string, id: string) =>
    (await request(ctx.app).get(`/jobs/${id}`).set('X-User-Token', ctx.tokenFor(uid))).body;
  const waitFor = async (check: () => Promise<boolean>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await sleep(25);
    }
  };

  it('accepts a job (202 {id}) and shows it only to its owner', async () => {
    const res = await enqueue(alice, {
      type: 'test.record',
      payload: { n: 1 },
      runAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), deduplicated: false });
    const job = await jobOf(alice, res.body.id);
    expect(job).toMatchObject({
      id: res.body.id,
      type: 'test.record',
      state: 'queued',
      attempts: 0,
      maxAttempts: 3,
    });
    const asBob = await request(ctx.app).get(`/jobs/${res.body.id}`).set('X-User-Token', ctx.tokenFor(bob));
    expect(asBob.status).toBe(404);
    const bobs = await request(ctx.app).get('/jobs?state=queued').set('X-User-Token', ctx.tokenFor(bob));
    expect(bobs.body.jobs).toEqual([]);
    const alices = await request(ctx.app).get('/jobs?state=queued').set('X-User-Token', ctx.tokenFor(alice));
    expect(alices.body.jobs.map((j: { id: string }) => j.id)).toContain(res.body.id);
  });

  it('refuses an unknown type, an internal type and an invalid payload with 400', async () => {
    for (const body of [
      { type: 'nope', payload: {} },
      { type: 'test.internal', payload: {} },
      { type: 'test.record', payload: { n: 'one' } },
      { type: 'test.record', payload: { n: 1, extra: true } },
      { type: 'test.record', payload: { n: 1 }, userId: bob },
    ]) {
      const res = await enqueue(alice, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 400,
        code: 'validation_failed',
      });
    }
  });

  it('deduplicates an active job by key, and allows the key again once it finished', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const first = await enqueue(alice, {
      type: 'test.record',
      payload: { n: 2 },
      dedupKey: 'k',
      runAt: later,
    });
    const second = await enqueue(alice, {
      type: 'test.record',
      payload: { n: 3 },
      dedupKey: 'k',
      runAt: later,
    });
    expect(second.body).toEqual({ id: first.body.id, deduplicated: true });
    // Per user: bob's key is his own.
    expect(
      (await enqueue(bob, { type: 'test.record', payload: { n: 4 }, dedupKey: 'k', runAt: later })).body
        .deduplicated,
    ).toBe(false);
    await ctx.owner.sql`update jobs set state = 'succeeded', finished_at = now() where id = ${first.body.id}`;
    expect(
      (await enqueue(alice, { type: 'test.record', payload: { n: 5 }, dedupKey: 'k', runAt: later })).body
        .deduplicated,
    ).toBe(false);
  });

  it('claims with one statement: attempt counted, locked_by and locked_at recorded, several at a time', async () => {
    const user = await ctx.newUser('claim');
    for (let n = 0; n < 3; n += 1) await enqueue(user, { type: 'test.record', payload: { n } });
    const claimed = await queueStore.claim(ctx.deps.database.db, {
      workerId: 'w-test',
      limit: 10,
      types: ['test.record'],
    });
    const mine = claimed.filter((j) => j.user_id === user);
    expect(mine).toHaveLength(3);
    for (const job of mine) {
      expect(job).toMatchObject({ state: 'running', attempts: 1, locked_by: 'w-test' });
      expect(job.locked_at).toBeInstanceOf(Date);
    }
    // Others' claims find none of them (they are locked or running).
    const again = await queueStore.claim(ctx.deps.database.db, {
      workerId: 'w-other',
      limit: 10,
      types: ['test.record'],
    });
    expect(again.filter((j) => j.user_id === user)).toEqual([]);
    const settled = await queueStore.succeed(ctx.deps.database.db, {
      workerId: 'w-test',
      jobs: claimed.map((j) => ({ id: j.id, result: { n: j.payload } })),
    });
    expect([...settled].sort()).toEqual(claimed.map((j) => j.id).sort());
  });

  it('runs every job exactly once across several workers on one database: none twice at once, none skipped', async () => {
    const workers = await Promise.all([
      ctx.worker({ concurrency: 3 }),
      ctx.worker({ concurrency: 3 }),
      ctx.worker({ concurrency: 2 }),
    ]);
    const users = [alice, bob, await ctx.newUser('carol')];
    const total = 150;
    const ids: string[] = [];
    for (let n = 0; n < total; n += 1)
      ids.push((await enqueue(users[n % 3]!, { type: 'test.record', payload: { n, ms: 2 } })).body.id);
    await waitFor(async () => {
      const [row] = await ctx.owner.sql<
        { n: number }[]
      >`select count(*)::int as n from jobs where id = any(${ids}) and state = 'succeeded'`;
      return row!.n === total;
    });
    expect(overlaps).toBe(0);
    const perJob = new Map<string, number>();
    for (const r of runs) perJob.set(r.id, (perJob.get(r.id) ?? 0) + 1);
    expect(ids.every((id) => perJob.get(id) === 1)).toBe(true);
    const attempts = await ctx.owner.sql<
      { attempts: number }[]
    >`select distinct attempts from jobs where id = any(${ids})`;
    expect(attempts).toEqual([{ attempts: 1 }]);
    for (const w of workers) await w.stop(1000);
  });

  it('claims ahead of its free slots and stores successes in batches (one statement for many jobs)', async () => {
    // Which statement claimed each job (its transaction), recorded by a trigger on this test database.
    await ctx.owner.sql.unsafe(`
      create table if not exists test_claims (id uuid, tx bigint, worker text);
      create or replace function test_record_claim() returns trigger language plpgsql as $$
      begin insert into test_claims values (new.id, txid_current(), new.locked_by); return null; end $$;
      drop trigger if exists test_record_claim on jobs;
      create trigger test_record_claim after update of state on jobs for each row
        when (old.state = 'queued' and new.state = 'running') execute function test_record_claim();`);
    try {
      const user = await ctx.newUser('batches');
      const total = 80;
      const ids: string[] = [];
      for (let n = 0; n < total; n += 1)
        ids.push((await enqueue(user, { type: 'test.record', payload: { n, ms: 0 } })).body.id);
      const worker = await ctx.worker({ concurrency: 2, prefetch: 6 });
      await waitFor(async () => {
        const [row] = await ctx.owner.sql<
          { n: number }[]
        >`select count(*)::int as n from jobs where id = any(${ids}) and state = 'succeeded'`;
        return row!.n === total;
      });
      await worker.stop(1000);
      const [claims] = await ctx.owner.sql<{ statements: number; most: number }[]>`
        select count(*)::int as statements, max(n)::int as most
        from (select tx, count(*) as n from test_claims where id = any(${ids}) group by tx) c`;
      // 2 slots + 6 ahead: the first claim takes 8; refills (at 3 or fewer ready) take 3 to 6. Claiming
      // only free slots would take 2 at most, in at least 40 statements.
      expect(claims!.most).toBe(8);
      expect(claims!.statements).toBeLessThan(total / 3);
      // Successes that finished while the previous store was in flight share one statement (one now()).
      const [settled] = await ctx.owner.sql<{ most: number }[]>`
        select max(n)::int as most from (
          select count(*) as n from jobs where id = any(${ids}) group by finished_at) s`;
      expect(settled!.most).toBeGreaterThan(1);
      expect(runs.filter((r) => ids.includes(r.id))).toHaveLength(total);
      // The job.succeeded events went to a closed port here: counted as lost, not silently gone.
      const lost = await ctx.deps.metrics.registry.getSingleMetricAsString(
        'tenantmesh_jobs_events_lost_total',
      );
      expect(Number(/reason="failed"[^\n]* (\d+)/.exec(lost)?.[1])).toBeGreaterThan(0);
    } finally {
      await ctx.owner.sql.unsafe('drop trigger if exists test_record_claim on jobs');
    }
  });

  it('retries with backoff and keeps a dead job with its last error after the last attempt', async () => {
    const worker = await ctx.worker();
    const { body } = await enqueue(alice, { type: 'test.fail', payload: {} });
    await waitFor(async () => (await jobOf(alice, body.id)).state === 'dead');
    const job = await jobOf(alice, body.id);
    expect(job).toMatchObject({ state: 'dead', attempts: 3, lastError: 'boom on attempt 3' });
    expect(job.finishedAt).not.toBeNull();
    const dead = await ctx.deps.metrics.registry.getSingleMetricAsString('tenantmesh_jobs_dead_total');
    expect(dead).toMatch(/type="test.fail"[^\n]* 1/);
    await worker.stop(1000);
  });

  it('spreads retries: exponential up to the cap, with jitter', () => {
    const backoff = { baseMs: 100, maxMs: 1000 };
    expect(retryDelayMs(1, backoff, () => 0.5)).toBe(100);
    expect(retryDelayMs(3, backoff, () => 0.5)).toBe(400);
    expect(retryDelayMs(10, backoff, () => 0.5)).toBe(1000);
    expect(retryDelayMs(3, backoff, () => 0)).toBe(200);
    expect(retryDelayMs(3, backoff, () => 0.999)).toBe(600);
  });

  it('fences terminal writes: a zombie worker cannot overwrite a job that was reaped and rescued', async () => {
    const db = ctx.deps.database.db;
    const user = await ctx.newUser('zombie');
    const { body } = await enqueue(user, { type: 'test.slow', payload: { ms: 1 } });
    const [claimed] = (
      await queueStore.claim(db, { workerId: 'zombie', limit: 50, types: ['test.slow'] })
    ).filter((j) => j.id === body.id);
    expect(claimed?.locked_by).toBe('zombie');
    // The zombie stops heart-beating (it never did here) and its lock ages past the type's 1 s.
    await ctx.owner.sql`update jobs set locked_at = now() - interval '10 seconds' where id = ${body.id}`;
    const reaped = await queueStore.reap(db);
    expect(reaped.find((r) => r.id === body.id)).toMatchObject({ state: 'queued' });
    const [rescued] = (
      await queueStore.claim(db, { workerId: 'rescuer', limit: 50, types: ['test.slow'] })
    ).filter((j) => j.id === body.id);
    expect(rescued).toMatchObject({ locked_by: 'rescuer', attempts: 2 });
    // The zombie wakes up and tries to finish or fail the job: nothing changes.
    expect(
      (
        await queueStore.succeed(db, {
          workerId: 'zombie',
          jobs: [{ id: body.id, result: { zombie: true } }],
        })
      ).size,
    ).toBe(0);
    expect(
      await queueStore.fail(db, { id: body.id, workerId: 'zombie', error: 'x', retryAt: new Date() }),
    ).toBeUndefined();
    expect((await queueStore.release(db, { workerId: 'zombie', ids: [body.id] })).size).toBe(0);
    expect(
      await queueStore.succeed(db, {
        workerId: 'rescuer',
        jobs: [{ id: body.id, result: { rescued: true } }],
      }),
    ).toEqual(new Set([body.id]));
    expect(await jobOf(user, body.id)).toMatchObject({ state: 'succeeded', result: { rescued: true } });
  });

  it('reaps a job whose worker stopped heart-beating: requeued, or dead once out of attempts; a live worker’s job is left alone', async () => {
    const db = ctx.deps.database.db;
    const user = await ctx.newUser('reap');
    const a = (await enqueue(user, { type: 'test.slow', payload: { ms: 1 } })).body.id;
    const b = (await enqueue(user, { type: 'test.slow', payload: { ms: 1 } })).body.id;
    const c = (await enqueue(user, { type: 'test.slow', payload: { ms: 1 } })).body.id;
    await queueStore.heartbeat(db, 'alive');
    const claimed = await queueStore.claim(db, { workerId: 'dead-worker', limit: 50, types: ['test.slow'] });
    expect(claimed.map((j) => j.id)).toEqual(expect.arrayContaining([a, b]));
    // c belongs to a worker that keeps heart-beating, however old its claim.
    await ctx.owner.sql`update jobs set locked_by = 'alive' where id = ${c}`;
    await ctx.owner
      .sql`update jobs set locked_at = now() - interval '10 seconds' where id = any(${[a, b, c]})`;
    await ctx.owner.sql`update jobs set attempts = max_attempts where id = ${b}`;
    const reaped = await queueStore.reap(db);
    expect(reaped.filter((r) => [a, b, c].includes(r.id)).sort((x, y) => x.id.localeCompare(y.id))).toEqual(
      [
        { id: a, type: 'test.slow', state: 'queued' },
        { id: b, type: 'test.slow', state: 'dead' },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    expect((await jobOf(user, b)).lastError).toMatch(/stopped heart-beating/);
    expect((await jobOf(user, c)).state).toBe('running');
    await ctx.owner.sql`delete from jobs where id = any(${[a, b, c]})`;
  });

  it('wakes an idle worker through NOTIFY, long before its polling interval', async () => {
    const worker = await ctx.worker({ pollIntervalMs: 60_000 });
    await sleep(200); // the worker has polled once and sleeps for a minute
    const { body } = await enqueue(alice, { type: 'test.record', payload: { n: 99 } });
    await waitFor(async () => (await jobOf(alice, body.id)).state === 'succeeded', 10_000);
    await worker.stop(1000);
  });

  it('a job put back by a stopping worker wakes an idle one through NOTIFY, not its poll', async () => {
    const user = await ctx.newUser('handover');
    const leaving = await ctx.worker({ concurrency: 1 });
    const job = (await enqueue(user, { type: 'test.slow', payload: { ms: 60_000 } })).body.id;
    await waitFor(async () => (await jobOf(user, job)).state === 'running');
    const idle = await ctx.worker({ concurrency: 1, pollIntervalMs: 60_000 });
    await sleep(200); // it has looked once, found nothing, and sleeps for a minute
    await leaving.stop(100); // grace runs out: the job is released
    await waitFor(async () => {
      const [row] = await ctx.owner.sql<{ locked_by: string | null }[]>`
        select locked_by from jobs where id = ${job}`;
      return row?.locked_by === idle.id;
    }, 10_000);
    await idle.stop(100);
    await ctx.owner.sql`delete from jobs where user_id = ${user}`;
  });

  it('gives up on a statement that does not answer and replaces its pool, so nothing stalls the loop', async () => {
    const user = await ctx.newUser('hung');
    const job = (await enqueue(user, { type: 'test.record', payload: { n: 1 } })).body.id;
    // Every statement on jobs waits while another transaction holds it exclusively: to the worker,
    // exactly what a connection that never answers looks like.
    const blocker = ctx.testDb.connectOwner(1);
    let unblock!: () => void;
    const locked = new Promise<void>((resolve) => {
      void blocker.sql.begin(async (sql) => {
        await sql`lock table jobs in access exclusive mode`;
        resolve();
        await new Promise<void>((r) => {
          unblock = r;
        });
      });
    });
    await locked;
    const pools: Database[] = [];
    const worker = await ctx.worker({
      dbTimeoutMs: 300,
      reopen: () => {
        const pool = ctx.testDb.connectRuntime();
        pools.push(pool);
        return pool;
      },
    });
    try {
      await waitFor(async () => ctx.logs.some((l) => l.includes('no answer within 300 ms')), 10_000);
      await waitFor(
        async () => ctx.logs.some((l) => l.includes('reopened the worker’s database pool')),
        10_000,
      );
      // At the first unanswered statement, not after a run of them.
      const firstReopen = ctx.logs.findIndex((l) => l.includes('reopened the worker’s database pool'));
      const timeoutsBefore = ctx.logs
        .slice(0, firstReopen)
        .filter((l) => l.includes('no answer within 300 ms'));
      expect(timeoutsBefore).toHaveLength(1);
      expect(ctx.logs[firstReopen]).toContain('a statement was not answered');
    } finally {
      unblock();
      await blocker.close();
    }
    // Once the database answers again, the worker (on its fresh pool) runs the job.
    await waitFor(async () => (await jobOf(user, job)).state === 'succeeded', 15_000);
    await worker.stop(1000);
    for (const pool of pools) await pool.close().catch(() => undefined);
    await ctx.owner.sql`delete from jobs where user_id = ${user}`;
  });

  it('on stop: claims nothing more, finishes what it can within the grace period, releases the rest', async () => {
    const worker = await ctx.worker({ concurrency: 2 });
    const user = await ctx.newUser('stop');
    const quick = (await enqueue(user, { type: 'test.slow', payload: { ms: 300 } })).body.id;
    const long = (await enqueue(user, { type: 'test.slow', payload: { ms: 60_000 } })).body.id;
    await waitFor(
      async () =>
        (await jobOf(user, long)).state === 'running' && (await jobOf(user, quick)).state === 'running',
    );
    const later = (await enqueue(user, { type: 'test.record', payload: { n: 7 } })).body.id;
    await worker.stop(1500);
    expect(await jobOf(user, quick)).toMatchObject({ state: 'succeeded' });
    // Released, not failed: back in the queue with the attempt not counted.
    expect(await jobOf(user, long)).toMatchObject({ state: 'queued', attempts: 0 });
    expect((await jobOf(user, later)).state).toBe('queued');
    await ctx.owner.sql`delete from jobs where user_id = ${user}`;
  });

  it('on stop: jobs claimed ahead and never started go back to the queue, their attempt not counted', async () => {
    // Refills when 2 or fewer are ready: the three below are all claimed ahead.
    const worker = await ctx.worker({ concurrency: 1, prefetch: 4 });
    const user = await ctx.newUser('ahead');
    const long = (await enqueue(user, { type: 'test.slow', payload: { ms: 60_000 } })).body.id;
    await waitFor(async () => (await jobOf(user, long)).state === 'running');
    const ahead: string[] = [];
    for (let n = 0; n < 3; n += 1)
      ahead.push((await enqueue(user, { type: 'test.record', payload: { n: 100 + n } })).body.id);
    // The slot is busy: the three are claimed ahead (running in the database, not started here).
    await waitFor(async () => {
      const states = await Promise.all(ahead.map(async (id) => (await jobOf(user, id)).state));
      return states.every((state) => state === 'running');
    });
    expect(runs.filter((r) => ahead.includes(r.id))).toEqual([]);
    await worker.stop(300);
    for (const id of [long, ...ahead])
      expect(await jobOf(user, id)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(runs.filter((r) => ahead.includes(r.id))).toEqual([]);
    await ctx.owner.sql`delete from jobs where user_id = ${user}`;
  });
});
