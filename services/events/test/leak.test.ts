import type { EventStreamClient } from '@tenantmesh/testing';
import { createEventsCluster, type EventsCluster, type EventsProcess } from './support/events-processes';

/**
 * The leak test: 50 users, 3 streams each spread over two replica processes, 8 publishers at once
 * through both replicas, 3,000 events. Every stream must receive exactly its own user's events —
 * none of anyone else's, none missing, none twice, in order.
 */
describe('events: the leak test', () => {
  let cluster: EventsCluster;
  let replicas: EventsProcess[];

  beforeAll(async () => {
    cluster = await createEventsCluster();
    replicas = await Promise.all([cluster.start(), cluster.start()]);
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('delivers zero events to the wrong user and loses none for users who stayed connected', async () => {
    const users = await cluster.newUsers(50);
    const streams: { uid: string; client: EventStreamClient }[] = [];
    for (const [i, uid] of users.entries()) {
      for (let k = 0; k < 3; k += 1) {
        streams.push({ uid, client: replicas[(i + k) % 2]!.stream(uid) });
      }
    }
    for (const s of streams) expect((await s.client.response).status).toBe(200);

    const total = 3000;
    const sent = new Map<string, number>(users.map((u) => [u, 0]));
    let next = 0;
    const publisher = async (p: number) => {
      while (next < total) {
        const n = next;
        next += 1;
        const uid = users[(n * 7 + p) % users.length]!;
        const res = await replicas[n % 2]!.publish(uid, { type: 'work.done', data: { uid, n } });
        expect(res.status).toBe(201);
        sent.set(uid, (sent.get(uid) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, p) => publisher(p)));

    await Promise.all(
      streams.map(({ uid, client }) => client.waitFor((events) => events.length >= sent.get(uid)!, 30_000)),
    );
    let wrong = 0;
    for (const { uid, client } of streams) {
      for (const event of client.events) {
        if ((JSON.parse(event.data) as { uid: string }).uid !== uid) wrong += 1;
      }
      // Exactly 1..n of this user's sequence: nothing lost, nothing twice, in order.
      const count = sent.get(uid)!;
      expect(client.events.map((e) => Number(e.id))).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    expect(wrong).toBe(0);
    expect([...sent.values()].reduce((a, b) => a + b, 0)).toBe(total);
    for (const replica of replicas) {
      expect(await replica.metrics()).not.toMatch(/tenantmesh_events_dropped_total\{[^}]*\} [1-9]/);
    }
    for (const { client } of streams) client.close();
  }, 120_000);
});
