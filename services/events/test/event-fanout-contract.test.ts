import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createTestRedis, type TestRedis } from '@tenantmesh/testing';
import type { EventFanout, UserEvent } from '../src/fanout/event-fanout';
import { createMemoryFanout } from '../src/fanout/memory-event-fanout';
import { createRedisFanout } from '../src/fanout/redis-event-fanout';

// One contract, two implementations: Redis pub/sub (many replicas) and in-process (single node).
// Some checks need Redis itself (another replica, raw messages, PUBSUB NUMSUB): they run only
// against it.
let redis: TestRedis;
beforeAll(async () => {
  redis = await createTestRedis();
});
afterAll(async () => {
  await redis.close();
});

interface Hooks {
  onMalformed?: (raw: string) => void;
  onHandlerError?: (error: unknown, event: UserEvent) => void;
}

interface Implementation {
  /** A fan-out, as one replica would build it. */
  make(hooks?: Hooks): EventFanout;
  redisOnly?: {
    /** How many connections Redis has subscribed to `uid`'s channel. */
    numsub(uid: string): Promise<number>;
    /** PUBLISHes `raw` on `uid`'s channel, bypassing the fan-out. */
    publishRaw(uid: string, raw: string): Promise<void>;
  };
}

const channelOf = (uid: string) => `${redis.prefix}events:${uid}`;

const implementations: [string, Implementation][] = [
  ['in-process', { make: (hooks = {}) => createMemoryFanout({ onHandlerError: hooks.onHandlerError }) }],
  [
    'Redis',
    {
      // Each fan-out gets its own connections, like a separate replica would.
      make: (hooks = {}) =>
        createRedisFanout({
          publisher: redis.connect(),
          subscriber: redis.connect(),
          channelPrefix: redis.prefix,
          ...hooks,
        }),
      redisOnly: {
        numsub: async (uid) => {
          const [, count] = (await redis.client.pubsub('NUMSUB', channelOf(uid))) as [string, number];
          return Number(count);
        },
        publishRaw: async (uid, raw) => {
          await redis.client.publish(channelOf(uid), raw);
        },
      },
    },
  ],
];

const event = (uid: string, seq: number, data: unknown = { n: seq }): UserEvent => ({
  uid,
  seq,
  type: 'note.created',
  data,
  at: new Date(Date.UTC(2025, 0, 1, 0, 0, seq % 60)).toISOString(),
});

/** Polls until `check` holds; waits on evidence, never blindly. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A handler that records what it is given. */
function recorder() {
  const events: UserEvent[] = [];
  return { events, onEvent: (e: UserEvent) => void events.push(e) };
}

describe.each(implementations)('EventFanout (%s)', (_name, impl) => {
  const opened: EventFanout[] = [];
  const make = (hooks?: Hooks) => {
    const fanout = impl.make(hooks);
    opened.push(fanout);
    return fanout;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((f) => f.close()));
  });

  it("delivers a uid's events to its subscriber, and not another uid's", async () => {
    const fanout = make();
    const [alice, bob] = [randomUUID(), randomUUID()];
    const toAlice = recorder();
    const toBob = recorder();
    await fanout.subscribe(alice, toAlice.onEvent);
    await fanout.subscribe(bob, toBob.onEvent);

    // Published right after subscribe resolved: the subscription is already active.
    await fanout.publish(event(bob, 1));
    await fanout.publish(event(alice, 1));
    await fanout.publish(event(bob, 2));
    await waitFor(() => toAlice.events.length === 1 && toBob.events.length === 2, 'both deliveries');

    expect(toAlice.events).toEqual([event(alice, 1)]);
    expect(toBob.events).toEqual([event(bob, 1), event(bob, 2)]);
  });

  it('delivers later (never inside publish), a copy rather than the publisher’s object', async () => {
    const fanout = make();
    const uid = randomUUID();
    const got = recorder();
    await fanout.subscribe(uid, got.onEvent);
    const sent = event(uid, 1, { nested: { list: [1, 2] } });

    const publishing = fanout.publish(sent);
    expect(got.events).toEqual([]);
    await publishing;
    await waitFor(() => got.events.length === 1, 'delivery');

    expect(got.events[0]).toEqual(sent);
    expect(got.events[0]).not.toBe(sent);
  });

  it('delivers to every subscriber of a uid', async () => {
    const fanout = make();
    const uid = randomUUID();
    const first = recorder();
    const second = recorder();
    await fanout.subscribe(uid, first.onEvent);
    await fanout.subscribe(uid, second.onEvent);

    await fanout.publish(event(uid, 1));
    await waitFor(() => first.events.length === 1 && second.events.length === 1, 'both subscribers');

    expect(first.events).toEqual([event(uid, 1)]);
    expect(second.events).toEqual([event(uid, 1)]);
  });

  it('stops delivering to a subscriber once it unsubscribed, and only to it', async () => {
    const fanout = make();
    const uid = randomUUID();
    const leaving = recorder();
    const staying = recorder();
    const unsubscribe = await fanout.subscribe(uid, leaving.onEvent);
    await fanout.subscribe(uid, staying.onEvent);

    await fanout.publish(event(uid, 1));
    await waitFor(() => leaving.events.length === 1 && staying.events.length === 1, 'first event');
    await unsubscribe();
    await unsubscribe(); // idempotent
    await fanout.publish(event(uid, 2));
    await waitFor(() => staying.events.length === 2, 'second event to the remaining subscriber');

    expect(leaving.events).toEqual([event(uid, 1)]);
    expect(staying.events).toEqual([event(uid, 1), event(uid, 2)]);
  });

  it('ends subscribed after quick subscribe/unsubscribe churn on one uid', async () => {
    const fanout = make();
    const uid = randomUUID();
    const got = recorder();

    // The last subscriber leaves and the next one arrives a moment later, over and over: 0 to 19
    // microtasks later, so some rounds land while an UNSUBSCRIBE is written but not yet answered.
    // After each round the newcomer must really be subscribed (an event reaches it).
    let unsubscribe = await fanout.subscribe(uid, got.onEvent);
    for (let seq = 1; seq <= 20; seq++) {
      const leaving = unsubscribe();
      for (let tick = 1; tick < seq; tick++) await Promise.resolve();
      [unsubscribe] = await Promise.all([fanout.subscribe(uid, got.onEvent), leaving]);
      await fanout.publish(event(uid, seq));
      await waitFor(() => got.events.length === seq, `delivery after round ${seq}`);
    }
    await unsubscribe();
    expect(got.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    // Many arrive at once, then all but the last leave at once while it is still subscribing.
    const crowd = Promise.all(Array.from({ length: 20 }, () => fanout.subscribe(uid, () => {})));
    const last = recorder();
    const lastSubscribing = fanout.subscribe(uid, last.onEvent);
    await Promise.all((await crowd).map((leave) => leave()));
    const unsubscribeLast = await lastSubscribing;

    if (impl.redisOnly) expect(await impl.redisOnly.numsub(uid)).toBe(1);
    await fanout.publish(event(uid, 1));
    await waitFor(() => last.events.length === 1, 'delivery to the surviving subscriber');
    expect(last.events).toEqual([event(uid, 1)]);
    expect(got.events).toHaveLength(20); // the churned subscribers are all gone

    await unsubscribeLast();
    if (impl.redisOnly) expect(await impl.redisOnly.numsub(uid)).toBe(0);
  });

  it('keeps delivering to the other subscribers when one handler throws', async () => {
    const errors: unknown[] = [];
    const fanout = make({ onHandlerError: (error) => void errors.push(error) });
    const uid = randomUUID();
    let thrown = 0;
    await fanout.subscribe(uid, () => {
      thrown++;
      throw new Error('handler failed');
    });
    const healthy = recorder();
    await fanout.subscribe(uid, healthy.onEvent);

    await fanout.publish(event(uid, 1));
    await fanout.publish(event(uid, 2));
    await waitFor(() => healthy.events.length === 2, 'both events to the healthy subscriber');

    expect(healthy.events).toEqual([event(uid, 1), event(uid, 2)]);
    expect(thrown).toBe(2);
    expect(errors).toEqual([new Error('handler failed'), new Error('handler failed')]);
  });

  it('delivers 2,000 events to one subscriber in publish order', async () => {
    const fanout = make();
    const uid = randomUUID();
    const got = recorder();
    await fanout.subscribe(uid, got.onEvent);

    const count = 2000;
    await Promise.all(Array.from({ length: count }, (_, i) => fanout.publish(event(uid, i + 1))));
    await waitFor(() => got.events.length >= count, `${count} events`, 15000);

    expect(got.events.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('refuses to publish something that is not a UserEvent', async () => {
    const fanout = make();
    const bad = [
      { seq: 1, type: 't', data: null, at: 'x' },
      { uid: '', seq: 1, type: 't', data: null, at: 'x' },
      { uid: 'u', seq: '1', type: 't', data: null, at: 'x' },
      { uid: 'u', seq: 1, data: null, at: 'x' },
      { uid: 'u', seq: 1, type: 't', data: null },
    ];
    for (const e of bad) await expect(fanout.publish(e as unknown as UserEvent)).rejects.toThrow(TypeError);
  });

  it('stops delivering and refuses new work once closed', async () => {
    const fanout = make();
    const uid = randomUUID();
    const got = recorder();
    await fanout.subscribe(uid, got.onEvent);
    await fanout.close();

    if (impl.redisOnly) expect(await impl.redisOnly.numsub(uid)).toBe(0);
    await expect(fanout.publish(event(uid, 1))).rejects.toThrow(/closed/);
    await expect(fanout.subscribe(uid, () => {})).rejects.toThrow(/closed/);
    // A subscriber on another fan-out sees the next event; the closed one never does.
    const other = make();
    const witness = recorder();
    await other.subscribe(uid, witness.onEvent);
    await other.publish(event(uid, 2));
    await waitFor(() => witness.events.length === 1, 'delivery to the open fan-out');
    expect(got.events).toEqual([]);
  });

  if (!impl.redisOnly) return;
  const { numsub, publishRaw } = impl.redisOnly;

  it('delivers an event published on one replica to a subscriber on another', async () => {
    const here = make();
    const there = make();
    const uid = randomUUID();
    const got = recorder();
    await here.subscribe(uid, got.onEvent);

    await there.publish(event(uid, 1));
    await waitFor(() => got.events.length === 1, 'cross-replica delivery');

    expect(got.events).toEqual([event(uid, 1)]);
  });

  it('subscribes on a connection still in its handshake without breaking it (ioredis#2037)', async () => {
    // ioredis 5.9 writes SUBSCRIBE before its ready check; the connection then fails that check,
    // drops and resubscribes later, losing whatever was published in between.
    const subscriber = redis.connect();
    const trouble: string[] = [];
    for (const name of ['error', 'close', 'reconnecting']) subscriber.on(name, () => trouble.push(name));
    await once(subscriber, 'connect');
    const fanout = createRedisFanout({ publisher: redis.connect(), subscriber, channelPrefix: redis.prefix });
    opened.push(fanout);
    const uid = randomUUID();
    const got = recorder();

    await fanout.subscribe(uid, got.onEvent);
    await fanout.publish(event(uid, 1));
    await waitFor(
      () => got.events.length === 1 && subscriber.status === 'ready',
      'delivery, connection ready',
    );

    expect(trouble).toEqual([]);
    expect(await numsub(uid)).toBe(1);
  });

  it("unsubscribes the user's channel in Redis when its last local subscriber leaves", async () => {
    const fanout = make();
    const uid = randomUUID();
    expect(await numsub(uid)).toBe(0);
    const first = await fanout.subscribe(uid, () => {});
    const second = await fanout.subscribe(uid, () => {});
    expect(await numsub(uid)).toBe(1); // one SUBSCRIBE per uid, not per local subscriber

    await first();
    expect(await numsub(uid)).toBe(1);
    await second();
    expect(await numsub(uid)).toBe(0);
  });

  it("passes on a message carrying another uid as-is: the stream's own check must catch it", async () => {
    // Contract: the fan-out never rewrites uid from the channel. If a foreign event ever lands
    // on a user's channel, the stream sees event.uid !== its uid and must refuse to write it.
    const fanout = make();
    const [alice, mallory] = [randomUUID(), randomUUID()];
    const toAlice = recorder();
    await fanout.subscribe(alice, toAlice.onEvent);

    const foreign = event(mallory, 7);
    await publishRaw(alice, JSON.stringify(foreign));
    await waitFor(() => toAlice.events.length === 1, 'the raw message');

    expect(toAlice.events).toEqual([foreign]);
    expect(toAlice.events[0]?.uid).toBe(mallory);
  });

  it('gives malformed messages to onMalformed and drops them', async () => {
    const malformed: string[] = [];
    const fanout = make({ onMalformed: (raw) => void malformed.push(raw) });
    const uid = randomUUID();
    const got = recorder();
    await fanout.subscribe(uid, got.onEvent);
    const { seq: _seq, ...withoutSeq } = event(uid, 1);
    const raws = [
      'not json',
      '{"uid":',
      'null',
      '[1,2]',
      JSON.stringify(withoutSeq),
      JSON.stringify({ ...event(uid, 1), type: 3 }),
    ];

    for (const raw of raws) await publishRaw(uid, raw);
    await publishRaw(uid, JSON.stringify(event(uid, 2)));
    await waitFor(() => got.events.length === 1, 'the well-formed message after the malformed ones');

    expect(malformed).toEqual(raws);
    expect(got.events).toEqual([event(uid, 2)]);
  });
});
