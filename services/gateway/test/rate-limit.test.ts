import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness } from './support/gateway-harness';

describe('per-IP rate limiting', () => {
  let h: Harness;
  let files: EchoUpstream;
  let auth: EchoUpstream;
  let cookie: string;
  let bucket = 0;
  // Each test counts from zero in its own key space; gateways built with the same prefix share counters.
  const fresh = () => `t${++bucket}:`;

  beforeAll(async () => {
    h = await openHarness({ redis: true });
    files = await startEchoUpstream();
    auth = await startEchoUpstream();
    cookie = await h.signIn(await h.createUser());
  });
  afterAll(async () => {
    await files.close();
    await auth.close();
    await h.close();
  });

  const urls = () => ({ files: files.url, auth: auth.url });
  const randomIp = () => `198.51.100.${randomBytes(1)[0]! % 250}`;

  it('counts requests across two gateways on one Redis, with RateLimit headers and a problem+json 429', async () => {
    const prefix = fresh();
    const one = h.buildGateway({ urls: urls(), perMinute: 4, rateLimitPrefix: prefix });
    const two = h.buildGateway({ urls: urls(), perMinute: 4, rateLimitPrefix: prefix });

    const answers = [];
    for (const gateway of [one, two, one, two]) {
      answers.push(await request(gateway).get('/api/files/x').set('Cookie', cookie));
    }
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(answers[0]!.headers.ratelimit).toMatch(/"default"; r=3; t=\d+/);
    expect(answers[0]!.headers['ratelimit-policy']).toMatch(/"default"; q=4; w=60/);
    expect(answers[3]!.headers.ratelimit).toMatch(/r=0/);

    const limited = await request(two).get('/api/files/x').set('Cookie', cookie);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.body.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(files.received.length).toBeLessThanOrEqual(4);
  });

  it('limits /auth/* by a stricter bucket of its own', async () => {
    const gateway = h.buildGateway({
      urls: urls(),
      perMinute: 100,
      authPerMinute: 2,
      rateLimitPrefix: fresh(),
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(gateway).get('/auth/providers')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const auth = await request(gateway).get('/auth/providers');
    expect(auth.headers.ratelimit).toContain('"auth"');
    // The general budget is untouched by the /auth one running out.
    expect((await request(gateway).get('/api/files/x').set('Cookie', cookie)).status).toBe(200);
  });

  it('behind one proxy hop, uses the address the edge appended, so a forged X-Forwarded-For does not dodge the limit', async () => {
    const gateway = h.buildGateway({
      urls: urls(),
      perMinute: 3,
      trustProxyHops: 1,
      rateLimitPrefix: fresh(),
    });
    files.received.length = 0;
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      // What nginx forwards: whatever the client claimed, then the address it really saw.
      const xff = `${randomIp()}, 203.0.113.5`;
      statuses.push(
        (await request(gateway).get('/api/files/x').set('Cookie', cookie).set('X-Forwarded-For', xff)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(files.received.map((r) => r.headers['x-forwarded-for'])).toEqual(Array(3).fill(['203.0.113.5']));
  });

  it('directly exposed (0 hops), ignores X-Forwarded-For entirely', async () => {
    const gateway = h.buildGateway({
      urls: urls(),
      perMinute: 3,
      trustProxyHops: 0,
      rateLimitPrefix: fresh(),
    });
    files.received.length = 0;
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await request(gateway).get('/api/files/x').set('Cookie', cookie).set('X-Forwarded-For', randomIp()))
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(files.received.map((r) => r.headers['x-forwarded-for'])).toEqual(Array(3).fill(['127.0.0.1']));
  });

  it('counts IPv6 clients by /56 subnet', async () => {
    const gateway = h.buildGateway({
      urls: urls(),
      perMinute: 2,
      trustProxyHops: 1,
      rateLimitPrefix: fresh(),
    });
    const from = (ip: string) =>
      request(gateway).get('/api/files/x').set('Cookie', cookie).set('X-Forwarded-For', ip);
    expect((await from('2001:db8:abcd:1200::1')).status).toBe(200);
    expect((await from('2001:db8:abcd:12ff::2')).status).toBe(200);
    expect((await from('2001:db8:abcd:1234:5678::9')).status).toBe(429);
    expect((await from('2001:db8:abcd:1300::1')).status).toBe(200);
  });
});
