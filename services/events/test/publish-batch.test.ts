import { createEventsContext, type EventsContext, type EventsReplica } from './support/events-context';

const ids = (events: { id?: string }[]) => events.map((e) => Number(e.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('events service: publishing a batch (POST /events with { events })', () => {
  let ctx: EventsContext;
  let one: EventsReplica;
  let two: EventsReplica;

  beforeAll(async () => {
    ctx = await createEventsContext();
    one = await ctx.replica();
    two = await ctx.replica();
  });
  afterAll(async () => {
    await ctx.close();
  });

  /** What PostgreSQL holds for `uid`: its events in seq order and its counter (undefined: no row). */
  const stored = async (uid: string) => {
    const rows = await ctx.owner.sql<{ seq: string; type: string; data: unknown }[]>`
      select seq, type, data from events where user_id = ${uid} order by seq`;
    const [counter] = await ctx.owner.sql<{ last_seq: string }[]>`
      select last_seq from event_streams where user_id = ${uid}`;
    return {
      seqs: rows.map((r) => Number(r.seq)),
      rows: rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: r.data })),
      lastSeq: counter === undefined ? undefined : Number(counter.last_seq),
    };
  };
  const publishedCount = async (replica: EventsReplica) =>
    (await replica.deps.eventsMetrics.published.get()).values[0]?.value ?? 0;

  it('stores a batch of 3 as 3 consecutive seqs, answers their ids in order, and streams them in order', async () => {
    const user = await ctx.newUser('batch');
    expect((await one.publish(user, { type: 'first', data: 0 })).status).toBe(201);
    const client = one.stream(user);
    expect((await client.response).status).toBe(200);
    const before = await publishedCount(one);

    const res = await one.publish(user, {
      events: [
        { type: 'job.progress', data: { percent: 10 } },
        { type: 'job.progress', data: { percent: 90 } },
        { type: 'job.succeeded', data: { result: ['a', 1, null] } },
      ],
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { ids: string[] };
    expect(body).toEqual({ ids: ['2', '3', '4'] });

    await client.waitFor((e) => e.length === 3);
    expect(client.events).toEqual([
      { id: '2', event: 'job.progress', data: '{"percent":10}' },
      { id: '3', event: 'job.progress', data: '{"percent":90}' },
      { id: '4', event: 'job.succeeded', data: '{"result":["a",1,null]}' },
    ]);
    client.close();
    expect(await stored(user)).toEqual({
      seqs: [1, 2, 3, 4],
      rows: [
        { seq: 1, type: 'first', data: 0 },
        { seq: 2, type: 'job.progress', data: { percent: 10 } },
        { seq: 3, type: 'job.progress', data: { percent: 90 } },
        { seq: 4, type: 'job.succeeded', data: { result: ['a', 1, null] } },
      ],
      lastSeq: 4,
    });
    // Counted per event, not per request.
    expect((await publishedCount(one)) - before).toBe(3);
    // The single form still answers { id }, after the batch.
    const single = await one.publish(user, { type: 'after', data: {} });
    expect(single.status).toBe(201);
    expect(await single.json()).toEqual({ id: '5' });
  });

  it('accepts a batch of exactly 100, and a batch naming the token’s own uid, from jobs too', async () => {
    const user = await ctx.newUser('hundred');
    const hundred = Array.from({ length: 100 }, (_, i) => ({ type: 'n', data: i }));
    const res = await one.publish(user, { events: hundred, uid: user }, 'jobs');
    expect(res.status).toBe(201);
    expect(((await res.json()) as { ids: string[] }).ids).toEqual(range(1, 100).map(String));
    const one1 = await one.publish(user, { events: [{ type: 'n', data: 100 }], userId: user });
    expect(await one1.json()).toEqual({ ids: ['101'] });
    expect((await one.publish(user, { events: [{ type: 'n', data: 101 }], user_id: user })).status).toBe(201);
    const { seqs, rows, lastSeq } = await stored(user);
    expect(seqs).toEqual(range(1, 102));
    expect(rows.map((r) => r.data)).toEqual(range(0, 101));
    expect(lastSeq).toBe(102);
  });

  it('keeps seqs dense (1..N, no gaps, no duplicates) under concurrent batches and singles on two replicas', async () => {
    const user = await ctx.newUser('concurrent');
    const client = one.stream(user, { 'Last-Event-ID': '0' });
    expect((await client.response).status).toBe(200);
    const publishers = 5;
    const batches = 10;
    const size = 7;
    const answered: number[][] = [];
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        const replica = p % 2 === 0 ? one : two;
        for (let b = 0; b < batches; b += 1) {
          const events = Array.from({ length: size }, (_, i) => ({ type: 'tick', data: { p, b, i } }));
          const [batch, single] = await Promise.all([
            replica.publish(user, { events }),
            replica.publish(user, { type: 'single', data: { p, b } }),
          ]);
          expect(batch.status).toBe(201);
          expect(single.status).toBe(201);
          answered.push(((await batch.json()) as { ids: string[] }).ids.map(Number));
          answered.push([Number(((await single.json()) as { id: string }).id)]);
        }
      }),
    );
    const total = publishers * batches * (size + 1);
    // Each batch got a run of consecutive seqs, in its own order.
    for (const run of answered.filter((r) => r.length > 1)) {
      expect(run).toEqual(range(run[0]!, run[0]! + size - 1));
    }
    expect(answered.flat().sort((a, b) => a - b)).toEqual(range(1, total));
    const { seqs, rows, lastSeq } = await stored(user);
    expect(seqs).toEqual(range(1, total));
    expect(lastSeq).toBe(total);
    // Within a batch, the stored order is the order sent.
    const batchRows = rows.filter((r) => r.type === 'tick') as { seq: number; data: { i: number } }[];
    for (const run of answered.filter((r) => r.length > 1)) {
      const inRun = batchRows.filter((r) => run.includes(r.seq)).map((r) => r.data.i);
      expect(inRun).toEqual(range(0, size - 1));
    }
    // And a stream open throughout got every one of them once, in seq order.
    await client.waitFor((e) => e.length >= total);
    expect(ids(client.events)).toEqual(range(1, total));
    client.close();
  });

  it('refuses a batch naming another user (403 foreign_namespace) and stores nothing', async () => {
    const user = await ctx.newUser('victim');
    const other = await ctx.newUser('other');
    const events = [{ type: 'x', data: 1 }];
    for (const field of ['uid', 'userId', 'user_id']) {
      const res = await one.publish(user, { events, [field]: other });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('foreign_namespace');
    }
    expect(await stored(user)).toEqual({ seqs: [], rows: [], lastSeq: undefined });
    expect(await stored(other)).toEqual({ seqs: [], rows: [], lastSeq: undefined });
  });

  it('refuses a bad batch whole (400 / 413) and stores nothing of it', async () => {
    const user = await ctx.newUser('refused');
    const good = { type: 'ok', data: { fine: true } };
    const cases: { name: string; body: unknown; status: number; code: string }[] = [
      { name: 'empty', body: { events: [] }, status: 400, code: 'validation_failed' },
      {
        name: '101 events',
        body: { events: Array.from({ length: 101 }, () => ({ type: 'n', data: 1 })) },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'one bad type inside',
        body: { events: [good, { type: 'Bad Type', data: 1 }, good] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'one event without data',
        body: { events: [good, { type: 'x' }] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'a uid inside an event',
        body: { events: [good, { ...good, uid: user }] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'both type and events',
        body: { type: 'x', data: 1, events: [good] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'unknown field',
        body: { events: [good], extra: true },
        status: 400,
        code: 'validation_failed',
      },
      { name: 'events not an array', body: { events: good }, status: 400, code: 'validation_failed' },
      {
        name: 'one data over 16 KiB',
        body: { events: [good, { type: 'big', data: 'y'.repeat(17 * 1024) }, good] },
        status: 413,
        code: 'payload_too_large',
      },
      {
        // Each data fits, the body does not: the service's JSON body limit (100 KiB).
        name: 'the whole body over 100 KiB',
        body: { events: Array.from({ length: 7 }, () => ({ type: 'big', data: 'z'.repeat(15 * 1024) })) },
        status: 413,
        code: 'payload_too_large',
      },
    ];
    const answers: { name: string; status: number; code: string }[] = [];
    for (const c of cases) {
      const res = await one.publish(user, c.body);
      answers.push({ name: c.name, status: res.status, code: ((await res.json()) as { code: string }).code });
    }
    expect(answers).toEqual(cases.map(({ name, status, code }) => ({ name, status, code })));
    expect(await stored(user)).toEqual({ seqs: [], rows: [], lastSeq: undefined });
    // The next good batch starts at seq 1: nothing was reserved by the refused ones.
    const res = await one.publish(user, { events: [good, good] });
    expect(await res.json()).toEqual({ ids: ['1', '2'] });
  });

  it('loses nothing when the fan-out of one event in a batch fails: the stream fills the gap from PostgreSQL', async () => {
    const user = await ctx.newUser('lossy');
    const replica = await ctx.replica();
    const client = replica.stream(user);
    expect((await client.response).status).toBe(200);
    const fanout = replica.deps.fanout;
    const original = fanout.publish.bind(fanout);
    fanout.publish = async (event) => {
      if (event.seq === 2) throw new Error('redis is down for this one');
      return original(event);
    };
    try {
      const res = await replica.publish(user, {
        events: [1, 2, 3].map((n) => ({ type: 'n', data: n })),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ ids: ['1', '2', '3'] });
      await client.waitFor((e) => e.length === 3);
      expect(ids(client.events)).toEqual([1, 2, 3]);
      expect(client.events.map((e) => e.data)).toEqual(['1', '2', '3']);
      expect(replica.logs.join('')).toContain('fan-out failed');
    } finally {
      fanout.publish = original;
      client.close();
    }
  });
});
