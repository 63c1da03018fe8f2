import { randomUUID } from 'node:crypto';
import { createTestRedis, type TestRedis } from '@tenantmesh/testing';
import type Redis from 'ioredis';
import type { ConnectionLeases } from '../src/leases/connection-leases';
import { createMemoryLeases } from '../src/leases/memory-connection-leases';
import { createRedisLeases } from '../src/leases/redis-connection-leases';

// One contract, two implementations: Redis (shared by every replica) and in-process (single
// node). Checks that need Redis itself (a second replica, the key's own expiry) run only there.
let redis: TestRedis;
/** A second connection with the same keyPrefix: another replica. */
let replicaClient: Redis;
beforeAll(async () => {
  redis = await createTestRedis();
  replicaClient = redis.client.duplicate();
});
afterAll(async () => {
  await replicaClient.quit();
  await redis.close();
});

interface Implementation {
  /** Two replicas' views of the same leases (in-process: the one node, twice). */
  pair(): [ConnectionLeases, ConnectionLeases];
  redisOnly?: {
    /** PTTL of the user's set, as Redis reports it (-2: no key). */
    pttl(uid: string): Promise<number>;
  };
}

const implementations: [string, Implementation][] = [
  [
    'in-process',
    {
      pair: () => {
        const node = createMemoryLeases();
        return [node, node];
      },
    },
  ],
  [
    'Redis',
    {
      pair: () => [createRedisLeases(redis.client), createRedisLeases(replicaClient)],
      redisOnly: { pttl: (uid) => redis.client.pttl(`sse:leases:${uid}`) },
    },
  ],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; waits on evidence, never blindly. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const long = { cap: 3, ttlMs: 60_000 };

describe.each(implementations)('ConnectionLeases (%s)', (_name, impl) => {
  // Everything a test acquires is released afterwards, so no key outlives the file.
  const held: [ConnectionLeases, string, string][] = [];
  let leases: ConnectionLeases;
  let other: ConnectionLeases;
  const acquire = (
    on: ConnectionLeases,
    uid: string,
    id: string,
    options: { cap: number; ttlMs: number },
  ) => {
    held.push([on, uid, id]);
    return on.acquire(uid, id, options);
  };
  beforeEach(() => {
    [leases, other] = impl.pair();
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map(([on, uid, id]) => on.release(uid, id)));
    await Promise.all([leases.close(), other.close()]);
  });

  it('grants up to cap, then refuses the next with 0 < retryAfterMs <= ttl', async () => {
    const uid = randomUUID();
    for (const id of ['a', 'b', 'c']) expect(await acquire(leases, uid, id, long)).toEqual({ ok: true });

    const refused = await acquire(leases, uid, 'd', long);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(long.ttlMs);
    expect(Number.isInteger(refused.retryAfterMs)).toBe(true);
    expect(await leases.count(uid)).toBe(3);
  });

  it('frees a slot on release', async () => {
    const uid = randomUUID();
    for (const id of ['a', 'b', 'c']) await acquire(leases, uid, id, long);

    await leases.release(uid, 'b');
    expect(await leases.count(uid)).toBe(2);
    expect(await acquire(leases, uid, 'd', long)).toEqual({ ok: true });
    expect((await acquire(leases, uid, 'e', long)).ok).toBe(false);
    await leases.release(uid, 'never-held'); // harmless
  });

  it('refreshes an id it already holds instead of taking a second slot', async () => {
    const uid = randomUUID();
    const options = { cap: 2, ttlMs: 600 };
    await acquire(leases, uid, 'a', options);
    await acquire(leases, uid, 'b', options);
    await sleep(400);
    // At the cap, yet the holder gets its slot again, for a fresh ttl.
    expect(await acquire(leases, uid, 'a', options)).toEqual({ ok: true });
    expect(await leases.count(uid)).toBe(2);
    expect((await acquire(leases, uid, 'c', options)).ok).toBe(false);

    // b (not refreshed) expires at ~600 ms; a, refreshed, lives until ~1000 ms.
    await waitFor(async () => (await leases.count(uid)) === 1, 'b to expire');
    expect(await leases.renew(uid, 'a', options.ttlMs)).toBe(true);
    expect(await leases.renew(uid, 'b', options.ttlMs)).toBe(false);
  });

  it('keeps caps per user', async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    const options = { cap: 2, ttlMs: 60_000 };
    await acquire(leases, alice, 'a1', options);
    await acquire(leases, alice, 'a2', options);

    expect((await acquire(leases, alice, 'a3', options)).ok).toBe(false);
    expect(await acquire(leases, bob, 'b1', options)).toEqual({ ok: true });
    expect(await acquire(leases, bob, 'a1', options)).toEqual({ ok: true }); // same id, other user
    expect(await leases.count(alice)).toBe(2);
    expect(await leases.count(bob)).toBe(2);
  });

  it('lets a lease that is not renewed expire after its ttl, and gives its slot back', async () => {
    const uid = randomUUID();
    const options = { cap: 2, ttlMs: 300 };
    // A healthy long stream keeps the user's set alive; only the lease itself may run out.
    await acquire(leases, uid, 'healthy', { cap: 2, ttlMs: 60_000 });
    const start = Date.now();
    expect(await acquire(leases, uid, 'crashed', options)).toEqual({ ok: true });
    // Its holder dies (kill -9): no renew, no release.

    const refused = await acquire(other, uid, 'next', options);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBeLessThanOrEqual(options.ttlMs);

    await waitFor(async () => (await acquire(other, uid, 'next', options)).ok, 'the slot to come back');
    expect(Date.now() - start).toBeGreaterThanOrEqual(options.ttlMs - 50);
    expect(await leases.count(uid)).toBe(2);
    expect(await leases.renew(uid, 'crashed', options.ttlMs)).toBe(false);
  });

  it('extends a lease on renew, and refuses to renew an expired or released one', async () => {
    const uid = randomUUID();
    const ttlMs = 400;
    const start = Date.now();
    await acquire(leases, uid, 'kept', { cap: 3, ttlMs });
    await acquire(leases, uid, 'lapsed', { cap: 3, ttlMs });
    await acquire(leases, uid, 'released', { cap: 3, ttlMs });
    await leases.release(uid, 'released');

    // Renew `kept` every 100 ms until well past its original ttl.
    while (Date.now() - start < 2 * ttlMs) {
      await sleep(100);
      expect(await other.renew(uid, 'kept', ttlMs)).toBe(true);
    }
    expect(await leases.count(uid)).toBe(1); // `lapsed` expired meanwhile, `kept` did not

    expect(await leases.renew(uid, 'lapsed', ttlMs)).toBe(false);
    expect(await leases.renew(uid, 'released', ttlMs)).toBe(false);
    expect(await leases.renew(uid, 'never-held', ttlMs)).toBe(false);
    expect(await leases.count(uid)).toBe(1); // a refused renew does not bring a lease back
  });

  it('never exceeds the cap under concurrent acquires from two replicas', async () => {
    const uid = randomUUID();
    const options = { cap: 6, ttlMs: 60_000 };

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => acquire(i % 2 ? other : leases, uid, `c${i}`, options)),
    );

    expect(results.filter((r) => r.ok)).toHaveLength(6);
    expect(await leases.count(uid)).toBe(6);
    expect(await other.count(uid)).toBe(6);
  });

  it('rejects a cap below 1 and a ttl that is not positive', async () => {
    const uid = randomUUID();
    await expect(leases.acquire(uid, 'a', { cap: 0, ttlMs: 1000 })).rejects.toThrow(RangeError);
    await expect(leases.acquire(uid, 'a', { cap: 1.5, ttlMs: 1000 })).rejects.toThrow(RangeError);
    await expect(leases.acquire(uid, 'a', { cap: 1, ttlMs: 0 })).rejects.toThrow(RangeError);
    await expect(leases.renew(uid, 'a', -1)).rejects.toThrow(RangeError);
    expect(await leases.count(uid)).toBe(0);
  });

  if (!impl.redisOnly) return;
  const { pttl } = impl.redisOnly;

  it('shares one cap between two replicas', async () => {
    const uid = randomUUID();
    const options = { cap: 2, ttlMs: 60_000 };
    await acquire(leases, uid, 'here', options);
    await acquire(other, uid, 'there', options);

    expect((await acquire(leases, uid, 'third', options)).ok).toBe(false);
    expect((await acquire(other, uid, 'third', options)).ok).toBe(false);
    await other.release(uid, 'here'); // any replica can release
    expect(await acquire(other, uid, 'third', options)).toEqual({ ok: true });
    expect(await leases.count(uid)).toBe(2);
  });

  it('lets the key expire by itself after its longest lease (PTTL), leaving nothing behind', async () => {
    const uid = randomUUID();
    // The longer lease first: a shorter one taken later must not shorten the key's life.
    await acquire(leases, uid, 'long', { cap: 3, ttlMs: 1000 });
    await acquire(other, uid, 'short', { cap: 3, ttlMs: 100 });

    const ttl = await pttl(uid);
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(1000);
    // Nobody renews, releases or acquires: Redis removes the key on its own.
    await waitFor(async () => (await pttl(uid)) === -2, 'the key to expire');
  });

  it('leaves no key behind once every lease is released', async () => {
    const uid = randomUUID();
    await acquire(leases, uid, 'a', long);
    await acquire(other, uid, 'b', long);
    expect(await redis.client.exists(`sse:leases:${uid}`)).toBe(1);

    await leases.release(uid, 'a');
    await other.release(uid, 'b');

    expect(await redis.client.exists(`sse:leases:${uid}`)).toBe(0);
  });
});
