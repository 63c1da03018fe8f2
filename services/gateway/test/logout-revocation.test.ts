import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness } from './support/gateway-harness';

describe('logout across gateway replicas', () => {
  let h: Harness;
  let files: EchoUpstream;

  beforeAll(async () => {
    h = await openHarness({ redis: true });
    files = await startEchoUpstream();
  });
  afterAll(async () => {
    await files.close();
    await h.close();
  });

  it('refuses a revoked session on the very next request at every gateway sharing the Redis cache', async () => {
    const one = h.buildGateway({ urls: { files: files.url } });
    const two = h.buildGateway({ urls: { files: files.url } });
    const cookie = await h.signIn(await h.createUser());

    // Warm both caches: each replica has now resolved (and cached) the session.
    expect((await request(one).get('/api/files/x').set('Cookie', cookie)).status).toBe(200);
    expect((await request(two).get('/api/files/x').set('Cookie', cookie)).status).toBe(200);

    // auth logs the user out through its own SessionService: database row revoked, cache entry deleted.
    expect(await h.sessionService().end(cookie)).toBe(true);

    for (const gateway of [one, two]) {
      const res = await request(gateway).get('/api/files/x').set('Cookie', cookie);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthenticated');
    }
  });
});
