import { createTestRedis, type TestRedis } from '@tenantmesh/testing';
import {
  type CachedSession,
  MemoryOneTimeStore,
  MemorySessionCache,
  type OneTimeStore,
  RedisOneTimeStore,
  RedisSessionCache,
  type SessionCache,
} from '../src';

// One contract, two implementations: Redis (many replicas) and in-process (single node).
let redis: TestRedis;
beforeAll(async () => {
  redis = await createTestRedis();
});
afterAll(async () => {
  await redis.close();
});

const session: CachedSession = {
  sessionId: 's1',
  uid: 'u1',
  idleExpiresAt: 1,
  absoluteExpiresAt: 2,
  lastSeenAt: 0,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['in-process', () => new MemorySessionCache() as SessionCache],
  ['Redis', () => new RedisSessionCache(redis.client) as SessionCache],
])('SessionCache (%s)', (_name, make) => {
  it('returns what was set, until deleted', async () => {
    const cache = make();
    await cache.set('h1', session, 5000);
    expect(await cache.get('h1')).toEqual(session);
    await cache.delete('h1');
    expect(await cache.get('h1')).toBeUndefined();
  });

  it('forgets an entry after its ttl', async () => {
    const cache = make();
    await cache.set('h2', session, 50);
    await sleep(120);
    expect(await cache.get('h2')).toBeUndefined();
  });

  it('does not store an entry whose ttl has already passed', async () => {
    const cache = make();
    await cache.set('h3', session, 0);
    expect(await cache.get('h3')).toBeUndefined();
  });
});

describe.each([
  ['in-process', () => new MemoryOneTimeStore() as OneTimeStore],
  ['Redis', () => new RedisOneTimeStore(redis.client) as OneTimeStore],
])('OneTimeStore (%s)', (_name, make) => {
  it('gives a value exactly once', async () => {
    const store = make();
    await store.put('state', 'v', 5000);
    expect(await store.take('state')).toBe('v');
    expect(await store.take('state')).toBeUndefined();
  });

  it('gives it to exactly one of many concurrent takers', async () => {
    const store = make();
    await store.put('race', 'v', 5000);
    const results = await Promise.all(Array.from({ length: 10 }, () => store.take('race')));
    expect(results.filter((r) => r === 'v')).toHaveLength(1);
  });

  it('forgets a value after its ttl', async () => {
    const store = make();
    await store.put('late', 'v', 50);
    await sleep(120);
    expect(await store.take('late')).toBeUndefined();
  });
});
