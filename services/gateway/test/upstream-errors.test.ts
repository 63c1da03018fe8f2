import { freePort } from '@tenantmesh/testing';
import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness } from './support/gateway-harness';

describe('upstream failures', () => {
  let h: Harness;
  let slow: EchoUpstream;
  let cookie: string;

  beforeAll(async () => {
    h = await openHarness();
    slow = await startEchoUpstream();
    cookie = await h.signIn(await h.createUser());
  });
  afterAll(async () => {
    await slow.close();
    await h.close();
  });

  it('answers 503 service_unavailable for a route whose upstream is not configured', async () => {
    const app = h.buildGateway({ urls: {} });
    for (const res of [
      await request(app).get('/api/files/x').set('Cookie', cookie),
      await request(app).get('/api/jobs').set('Cookie', cookie),
      await request(app).get('/auth/providers'),
    ]) {
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('service_unavailable');
    }
  });

  it('answers 502 upstream_unavailable when a configured upstream is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const app = h.buildGateway({ urls: { files: down, auth: down } });
    for (const res of [
      await request(app).get('/api/files/x').set('Cookie', cookie),
      await request(app).get('/auth/providers'),
    ]) {
      expect(res.status).toBe(502);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('upstream_unavailable');
    }
  });

  it('answers 502 when an upstream does not start answering within the timeout', async () => {
    slow.respondWith(() => {
      // Never answers.
    });
    const app = h.buildGateway({ urls: { files: slow.url }, timeoutMs: 200 });
    const res = await request(app).get('/api/files/x').set('Cookie', cookie);
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('upstream_unavailable');
  });
});
