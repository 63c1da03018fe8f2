import { RedisSessionCache } from '@tenantmesh/sessions';
import { freePort, randomKey } from '@tenantmesh/testing';
import type { Express } from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness } from './support/gateway-harness';

const NAME = '__Host-tm_session';

describe('sessions at the gateway', () => {
  let h: Harness;
  let files: EchoUpstream;
  let app: Express;
  let uid: string;
  let cookie: string;

  beforeAll(async () => {
    h = await openHarness();
    files = await startEchoUpstream();
    app = h.buildGateway({ urls: { files: files.url } });
    uid = await h.createUser();
    cookie = await h.signIn(uid);
  });
  afterAll(async () => {
    await files.close();
    await h.close();
  });

  const get = (cookieHeader?: string) => {
    const req = request(app).get('/api/files/x');
    return cookieHeader === undefined ? req : req.set('Cookie', cookieHeader);
  };
  const value = () => cookie.slice(NAME.length + 1);

  async function expectSignedOut(cookieHeader: string | undefined) {
    const res = await get(cookieHeader);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('unauthenticated');
  }

  it('lets a request with a valid session through', async () => {
    expect((await get(cookie)).status).toBe(200);
  });

  it('answers 401 without a cookie', async () => {
    await expectSignedOut(undefined);
    await expectSignedOut('theme=dark');
  });

  it('answers 401 for a tampered cookie', async () => {
    const parts = value().split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    await expectSignedOut(`${NAME}=${parts[0]}.${parts[1]}.${flip(parts[2]!)}.${parts[3]}`);
    await expectSignedOut(`${NAME}=${parts[0]}.${parts[1]}.${parts[2]}.${flip(parts[3]!)}`);
    await expectSignedOut(`${NAME}=v1.other-kid.${parts[2]}.${parts[3]}`);
  });

  it('answers 401 for a truncated cookie', async () => {
    await expectSignedOut(`${NAME}=${value().slice(0, -1)}`);
    await expectSignedOut(`${NAME}=${value().slice(0, 20)}`);
    await expectSignedOut(`${NAME}=`);
  });

  it('answers 401 for an oversized cookie (over 4 KiB)', async () => {
    await expectSignedOut(`${NAME}=${value()}${'A'.repeat(4200)}`);
    await expectSignedOut(`${NAME}=${'x'.repeat(5000)}`);
  });

  it('answers 401 when the session cookie is sent twice, even with two valid copies', async () => {
    await expectSignedOut(`${cookie}; ${cookie}`);
    await expectSignedOut(`${cookie}; ${NAME}=v1.k1.aaaa.bbbb`);
  });

  it('answers 401 for garbage, never 500', async () => {
    for (const junk of ['%%%', '"', 'v1....', 'v1.k1.%00.%00', '\\x00', 'a'.repeat(600)]) {
      await expectSignedOut(`${NAME}=${junk}`);
    }
  });

  it('answers 503, not 500, when the session cache does not answer', async () => {
    const nowhere = new Redis(await freePort(), '127.0.0.1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    nowhere.on('error', () => {});
    try {
      const broken = h.buildGateway({
        urls: { files: files.url },
        sessionCache: new RedisSessionCache(nowhere),
      });
      const res = await request(broken).get('/api/files/x').set('Cookie', cookie);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('service_unavailable');
    } finally {
      nowhere.disconnect();
    }
  });

  it('re-signs a cookie whose key stopped signing, and refuses it once the key is dropped', async () => {
    // Start from a ring of one old key and a session signed with it.
    const old = { kid: 'old', key: randomKey() };
    const next = { kid: 'new', key: randomKey() };
    h.secrets.writeRing('cookie_keys', [old]);
    h.cookieRing.reload();
    const oldCookie = await h.signIn(uid);

    // Rotation step 2: the new key signs; the old one still verifies, and the browser gets a re-signed cookie.
    h.secrets.writeRing('cookie_keys', [old, next]);
    h.cookieRing.reload();
    const rotated = await get(oldCookie);
    expect(rotated.status).toBe(200);
    const setCookie = [rotated.headers['set-cookie'] ?? []]
      .flat()
      .find((c: string) => c.startsWith(`${NAME}=v1.new.`));
    expect(setCookie).toBeDefined();
    const newCookie = setCookie!.split(';')[0]!;

    // Step 3: the old key is dropped from the ring: its cookies are signed out, the re-signed one works.
    h.secrets.writeRing('cookie_keys', [next]);
    h.cookieRing.reload();
    await expectSignedOut(oldCookie);
    expect((await get(newCookie)).status).toBe(200);
  });
});
