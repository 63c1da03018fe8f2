import { pruneEvents } from '../src/db/queries/prune-events';
import { createEventsContext, type EventsContext, type EventsReplica } from './support/events-context';

const ids = (events: { id?: string }[]) => events.map((e) => Number(e.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('events service: streams', () => {
  let ctx: EventsContext;
  let one: EventsReplica;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    ctx = await createEventsContext();
    one = await ctx.replica({ heartbeatMs: 200, maxStreamsPerUser: 3, leaseTtlMs: 2000 });
    alice = await ctx.newUser('alice');
    bob = await ctx.newUser('bob');
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('streams the user’s events as text/event-stream with id, type and JSON data, never compressed', async () => {
    const client = one.stream(alice, { 'Accept-Encoding': 'gzip, br' });
    const { status, headers } = await client.response;
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(headers['x-accel-buffering']).toBe('no');
    expect(headers['cache-control']).toBe('no-cache, no-transform');
    expect(headers['content-encoding']).toBeUndefined();
    const published = await one.publish(alice, { type: 'job.progress', data: { percent: 40 } });
    expect(published.status).toBe(201);
    const { id } = (await published.json()) as { id: string };
    await client.waitFor((e) => e.length === 1);
    expect(client.events[0]).toEqual({ id, event: 'job.progress', data: '{"percent":40}' });
    client.close();
  });

  it('sends heartbeat comments on a quiet stream', async () => {
    const client = one.stream(bob);
    await client.response;
    await new Promise((r) => setTimeout(r, 700));
    expect(client.comments.filter((c) => c.includes('heartbeat')).length).toBeGreaterThanOrEqual(2);
    client.close();
  });

  it('stores an event only for the token’s user: a body naming another user is refused', async () => {
    const named = await one.publish(alice, { type: 'x', data: 1, userId: bob });
    expect(named.status).toBe(403);
    expect(((await named.json()) as { code: string }).code).toBe('foreign_namespace');
    expect((await one.publish(alice, { type: 'x', data: 1, uid: alice })).status).toBe(201);
    expect((await one.publish(alice, { type: 'x', data: 1, user_id: bob })).status).toBe(403);
    expect((await one.publish(alice, { type: 'x', data: 1, extra: true })).status).toBe(400);
    expect((await one.publish(alice, { type: 'Bad Type', data: 1 })).status).toBe(400);
    expect((await one.publish(alice, { type: 'x', data: 'y'.repeat(20_000) })).status).toBe(413);
    // The jobs service publishes with its own key.
    expect((await one.publish(alice, { type: 'export.done', data: { name: 'x.zip' } }, 'jobs')).status).toBe(
      201,
    );
    const rows = await ctx.owner.sql<{ user_id: string }[]>`select distinct user_id from events`;
    expect(rows.map((r) => r.user_id)).toEqual([alice]);
  });

  it('never writes another user’s event to a stream, even when the fan-out delivers one: dropped, counted, logged', async () => {
    const client = one.stream(alice);
    await client.response;
    // Straight onto alice's channel, bypassing the service: a fan-out bug or tampering.
    const raw = ctx.redis!.connect();
    await raw.publish(
      `${ctx.redis!.prefix}events:${alice}`,
      JSON.stringify({
        uid: bob,
        seq: 999_999,
        type: 'leak',
        data: { secret: 'bob' },
        at: new Date().toISOString(),
      }),
    );
    await one.publish(alice, { type: 'after', data: {} });
    await client.waitFor((e) => e.some((x) => x.event === 'after'));
    expect(client.events.map((e) => e.event)).not.toContain('leak');
    const dropped = await one.deps.metrics.registry.getSingleMetricAsString(
      'tenantmesh_events_dropped_total',
    );
    expect(dropped).toMatch(/reason="wrong_uid"[^\n]* [1-9]/);
    expect(one.logs.join('')).toContain('event dropped: wrong uid');
    client.close();
  });

  it('replays exactly the missed events, in order, after Last-Event-ID — then goes live', async () => {
    const user = await ctx.newUser('replay');
    for (let i = 1; i <= 5; i += 1) await one.publish(user, { type: 'n', data: i });
    const client = one.stream(user, { 'Last-Event-ID': '2' });
    await client.waitFor((e) => e.length === 3);
    await one.publish(user, { type: 'n', data: 6 });
    await client.waitFor((e) => e.length === 4);
    expect(ids(client.events)).toEqual([3, 4, 5, 6]);
    expect(client.events.map((e) => e.data)).toEqual(['3', '4', '5', '6']);
    client.close();
    // ?lastEventId= works for a first connection (EventSource cannot set the header itself).
    const fromQuery = one.stream(user, {}, '?lastEventId=4');
    await fromQuery.waitFor((e) => e.length === 2);
    expect(ids(fromQuery.events)).toEqual([5, 6]);
    fromQuery.close();
    const bad = one.stream(user, { 'Last-Event-ID': 'abc' });
    expect((await bad.response).status).toBe(400);
  });

  it('loses and duplicates nothing across reconnects while publishers keep publishing', async () => {
    const user = await ctx.newUser('busy');
    const total = 400;
    let published = 0;
    const publishers = Array.from({ length: 4 }, async () => {
      while (published < total) {
        published += 1;
        const res = await one.publish(user, { type: 'tick', data: {} });
        expect(res.status).toBe(201);
      }
    });
    const received: number[] = [];
    // From the very start: the publishers may already have published before the first connect.
    let last = '0';
    for (let round = 0; round < 8; round += 1) {
      const client = one.stream(user, { 'Last-Event-ID': last });
      await client.response;
      const want = received.length + 20 + round * 5;
      await client.waitFor((e) => received.length + e.length >= Math.min(want, total) || published >= total);
      client.close();
      await client.ended;
      received.push(...ids(client.events));
      last = client.events.at(-1)?.id ?? last;
    }
    await Promise.all(publishers);
    const final = one.stream(user, { 'Last-Event-ID': last });
    await final.waitFor((e) => received.length + e.length >= total);
    received.push(...ids(final.events));
    final.close();
    expect(received).toEqual(range(1, total));
  });

  it('fills a gap from PostgreSQL when an event’s fan-out message is late or lost, keeping order', async () => {
    const user = await ctx.newUser('gap');
    await one.publish(user, { type: 'n', data: 1 });
    const client = one.stream(user);
    await client.response;
    // Event 2 is stored but its fan-out message never comes (a publisher died after the commit).
    await ctx.owner.sql`
      with next as (update event_streams set last_seq = last_seq + 1 where user_id = ${user} returning last_seq)
      insert into events (user_id, seq, type, data) select ${user}, last_seq, 'n', '2'::jsonb from next`;
    await one.publish(user, { type: 'n', data: 3 });
    await client.waitFor((e) => e.length === 2);
    expect(ids(client.events)).toEqual([2, 3]);
    expect(client.events.map((e) => e.data)).toEqual(['2', '3']);
    client.close();
  });

  it('says so in the stream when the requested id is older than the retention window', async () => {
    const user = await ctx.newUser('old');
    for (let i = 1; i <= 6; i += 1) await one.publish(user, { type: 'n', data: i });
    await ctx.owner
      .sql`update events set created_at = now() - interval '30 days' where user_id = ${user} and seq <= 4`;
    expect(
      await pruneEvents(one.deps.database.db, { olderThanHours: 24, limit: 1000 }),
    ).toBeGreaterThanOrEqual(4);
    const client = one.stream(user, { 'Last-Event-ID': '1' });
    await client.waitFor((e) => e.length === 3);
    expect(client.events[0]).toEqual({
      id: undefined,
      event: 'replay_gap',
      data: JSON.stringify({ requested: 1, oldestAvailable: 5 }),
    });
    expect(ids(client.events.slice(1))).toEqual([5, 6]);
    client.close();
  });

  it('caps streams per user (429 with Retry-After; the open ones win) and frees the slot on close', async () => {
    const user = await ctx.newUser('capped');
    const open = [one.stream(user), one.stream(user), one.stream(user)];
    for (const s of open) expect((await s.response).status).toBe(200);
    const fourth = one.stream(user);
    const refused = await fourth.response;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body!).code).toBe('too_many_streams');
    // Another user is not affected.
    const other = one.stream(await ctx.newUser('free'));
    expect((await other.response).status).toBe(200);
    other.close();
    open[0]!.close();
    await waitUntil(async () => (await one.deps.leases.count(user)) === 2);
    const again = one.stream(user);
    expect((await again.response).status).toBe(200);
    for (const s of [...open, again]) s.close();
  });

  it('holds the per-user cap across replicas sharing Redis', async () => {
    const two = await ctx.replica({ maxStreamsPerUser: 3, leaseTtlMs: 2000 });
    const user = await ctx.newUser('spread');
    const streams = [one.stream(user), two.stream(user), one.stream(user)];
    for (const s of streams) expect((await s.response).status).toBe(200);
    expect((await two.stream(user).response).status).toBe(429);
    expect((await one.stream(user).response).status).toBe(429);
    for (const s of streams) s.close();
  });

  it('closes a user’s streams on every replica when a session of theirs is revoked', async () => {
    const two = await ctx.replica();
    const user = await ctx.newUser('revoked');
    const a = one.stream(user);
    const b = two.stream(user);
    const other = one.stream(bob);
    await Promise.all([a.response, b.response, other.response]);
    // What packages/sessions sends with a revocation's commit.
    await ctx.owner.sql`select pg_notify('tenantmesh_session_revoked', ${user})`;
    await Promise.all([a.ended, b.ended]);
    await new Promise((r) => setTimeout(r, 200));
    expect(one.deps.registry.size).toBeGreaterThanOrEqual(1); // bob's stream is still open
    await one.publish(bob, { type: 'still', data: {} });
    await other.waitFor((e) => e.some((x) => x.event === 'still'));
    other.close();
  });

  it('drains: every stream gets retry: and is closed, so clients reconnect elsewhere', async () => {
    const three = await ctx.replica({ reconnectMs: 1000 });
    const client = three.stream(alice);
    await client.response;
    await new Promise((r) => setTimeout(r, 50));
    expect(client.retries).toEqual([1000]);
    three.deps.registry.drain(4321);
    await client.ended;
    expect(client.retries).toEqual([1000, 4321]);
  });

  it('refuses new streams with 503 once this replica holds its process-wide maximum', async () => {
    const tiny = await ctx.replica({ maxStreams: 1 });
    const first = tiny.stream(alice);
    expect((await first.response).status).toBe(200);
    const second = tiny.stream(bob);
    expect((await second.response).status).toBe(503);
    const gauge = await tiny.deps.metrics.registry.getSingleMetricAsString('tenantmesh_sse_connections');
    expect(gauge).toMatch(/tenantmesh_sse_connections\{[^}]*\} 1/);
    first.close();
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
