import { createEventsCluster, type EventsCluster, type EventsProcess } from './support/events-processes';

/** Two events replicas as real processes sharing PostgreSQL and Redis. */
describe('events replicas', () => {
  let cluster: EventsCluster;
  let a: EventsProcess;
  let b: EventsProcess;
  const env = { EVENTS_MAX_STREAMS_PER_USER: '3', EVENTS_LEASE_TTL_MS: '1000', EVENTS_RECONNECT_MS: '777' };

  beforeAll(async () => {
    cluster = await createEventsCluster();
    [a, b] = await Promise.all([cluster.start(env), cluster.start(env)]);
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('delivers an event published on one replica to the user’s stream on the other (Redis fan-out)', async () => {
    const [uid] = await cluster.newUsers(1);
    const onB = b.stream(uid!);
    expect((await onB.response).status).toBe(200);
    expect((await a.publish(uid!, { type: 'hello', data: { from: 'a' } })).status).toBe(201);
    await onB.waitFor((e) => e.length === 1);
    expect(onB.events[0]).toMatchObject({ id: '1', event: 'hello', data: '{"from":"a"}' });
    onB.close();
  });

  it('leaks no slots when a replica is killed with -9: its leases expire and the user may connect again', async () => {
    const doomed = await cluster.start(env);
    const [uid] = await cluster.newUsers(1);
    const held = [doomed.stream(uid!), doomed.stream(uid!), doomed.stream(uid!)];
    for (const s of held) expect((await s.response).status).toBe(200);
    expect((await a.stream(uid!).response).status).toBe(429);
    doomed.service.child.kill('SIGKILL');
    await doomed.service.exited;
    // Nobody cleans up after a dead process: the leases simply run out (TTL 1 s).
    const deadline = Date.now() + 10_000;
    let accepted = 0;
    const fresh = [];
    while (accepted < 3 && Date.now() < deadline) {
      const s = a.stream(uid!);
      if ((await s.response).status === 200) {
        accepted += 1;
        fresh.push(s);
      } else {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(accepted).toBe(3);
    expect((await b.stream(uid!).response).status).toBe(429);
    for (const s of fresh) s.close();
  });

  it('drains on SIGTERM: each stream gets retry: and ends, and the process exits 0', async () => {
    const leaving = await cluster.start(env);
    const [uid] = await cluster.newUsers(1);
    const stream = leaving.stream(uid!);
    await stream.response;
    leaving.service.child.kill('SIGTERM');
    await stream.ended;
    expect(stream.retries.at(-1)).toBe(777);
    expect(await leaving.service.exited).toBe(0);
    // The client reconnects elsewhere and misses nothing.
    await a.publish(uid!, { type: 'after', data: {} });
    const again = b.stream(uid!, { 'Last-Event-ID': '0' });
    await again.waitFor((e) => e.some((x) => x.event === 'after'));
    again.close();
  });

  it('closes a user’s streams on every replica when their session is revoked', async () => {
    const [uid, other] = await cluster.newUsers(2);
    const onA = a.stream(uid!);
    const onB = b.stream(uid!);
    const bystander = b.stream(other!);
    await Promise.all([onA.response, onB.response, bystander.response]);
    // What auth's SessionService sends with a revocation's commit (packages/sessions).
    const { connectAdmin } = await import('@tenantmesh/testing');
    const admin = connectAdmin(cluster.db.url);
    try {
      await admin`select pg_notify('tenantmesh_session_revoked', ${uid!})`;
    } finally {
      await admin.end();
    }
    await Promise.all([onA.ended, onB.ended]);
    await b.publish(other!, { type: 'still-here', data: {} });
    await bystander.waitFor((e) => e.some((x) => x.event === 'still-here'));
    bystander.close();
  });
});
