import { randomBytes } from 'node:crypto';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@tenantmesh/testing';
import {
  MemorySessionCache,
  RedisSessionCache,
  SESSION_COOKIE,
  SESSION_REVOKED_CHANNEL,
  SessionService,
} from '../src';

const ring = new KeyRing(
  'cookie_keys',
  '/dev/null',
  parseKeyRing(
    'cookie_keys',
    '/dev/null',
    JSON.stringify({ keys: [{ kid: 'k1', key: randomBytes(32).toString('base64') }] }),
  ),
);
const policy = { idleTtlSeconds: 3600, absoluteTtlSeconds: 7200 };
const cookieFrom = (setCookie: string) => setCookie.split(';')[0]!;

describe('SessionService', () => {
  let testDb: TestDatabase;
  let owner: Database;
  let runtime: Database;
  let redis: TestRedis;
  let alice: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    owner = testDb.connectOwner();
    runtime = testDb.connectRuntime();
    redis = await createTestRedis();
    const [row] = await owner.sql<
      { id: string }[]
    >`insert into user_sessions (provider, subject) values ('test', 'alice') returning id`;
    alice = row!.id;
  });
  afterAll(async () => {
    await runtime.close();
    await owner.close();
    await redis.close();
    await testDb.drop();
  });

  it('resolves a session it started to its user', async () => {
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
    const { setCookie } = await sessions.start(alice, 'jest');
    expect(await sessions.resolve(cookieFrom(setCookie))).toMatchObject({ uid: alice });
  });

  it('stores only a hash of the session id', async () => {
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
    const { setCookie, sessionId } = await sessions.start(alice);
    const sid = cookieFrom(setCookie).split('.')[2]!;
    const dump = JSON.stringify(await owner.sql`select * from sessions where id = ${sessionId}`);
    expect(dump).not.toContain(sid);
    expect(dump).not.toContain(Buffer.from(sid, 'base64url').toString('hex'));
  });

  it('after logout on one replica, the cookie stops working on every replica at once (shared Redis cache)', async () => {
    const replicaA = new SessionService(runtime.db, new RedisSessionCache(redis.client), ring, policy);
    const replicaB = new SessionService(runtime.db, new RedisSessionCache(redis.client), ring, policy);
    const cookie = cookieFrom((await replicaA.start(alice)).setCookie);
    expect(await replicaB.resolve(cookie)).toBeDefined(); // now cached for 60 s
    expect(await replicaA.end(cookie)).toBe(true);
    expect(await replicaB.resolve(cookie)).toBeUndefined();
    expect(await replicaA.resolve(cookie)).toBeUndefined();
  });

  it('refuses an expired session even while it is cached', async () => {
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
    const { setCookie, sessionId } = await sessions.start(alice);
    const cookie = cookieFrom(setCookie);
    expect(await sessions.resolve(cookie)).toBeDefined();
    await owner.sql`update sessions set idle_expires_at = now() - interval '1 second' where id = ${sessionId}`;
    const stale = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
    expect(await stale.resolve(cookie)).toBeUndefined();
  });

  it('signs a user out everywhere', async () => {
    const cache = new RedisSessionCache(redis.client);
    const sessions = new SessionService(runtime.db, cache, ring, policy);
    const a = cookieFrom((await sessions.start(alice)).setCookie);
    const b = cookieFrom((await sessions.start(alice)).setCookie);
    await sessions.resolve(a);
    expect(await sessions.endAll(alice)).toBeGreaterThanOrEqual(2);
    expect(await sessions.resolve(a)).toBeUndefined();
    expect(await sessions.resolve(b)).toBeUndefined();
  });

  it('announces every revocation (logout and sign-out-everywhere) on PostgreSQL NOTIFY with the uid, so event streams close', async () => {
    const heard: string[] = [];
    const listener = await owner.sql.listen(SESSION_REVOKED_CHANNEL, (uid) => heard.push(uid));
    try {
      const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
      const cookie = cookieFrom((await sessions.start(alice)).setCookie);
      expect(await sessions.end(cookie)).toBe(true);
      await sessions.start(alice);
      await sessions.endAll(alice);
      const deadline = Date.now() + 5000;
      while (heard.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([alice, alice]);
    } finally {
      await listener.unlisten();
    }
  });

  it('treats two session cookies in one request as signed out', async () => {
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), ring, policy);
    const a = cookieFrom((await sessions.start(alice)).setCookie);
    expect(await sessions.resolve(`${a}; ${a}`)).toBeUndefined();
    expect(await sessions.resolve(`${a}; ${SESSION_COOKIE}=v1.k1.x.y`)).toBeUndefined();
  });

  it('the runtime role cannot look sessions up by hash except through the narrow function', async () => {
    await expect(runtime.sql`select * from sessions`).resolves.toHaveLength(0); // RLS: no uid set
  });
});
