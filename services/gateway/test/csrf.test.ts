import type { Express } from 'express';
import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';
import { startNotes } from './support/notes-upstream';

describe('CSRF checks on state-changing requests', () => {
  let h: Harness;
  let notes: Awaited<ReturnType<typeof startNotes>>;
  let auth: EchoUpstream;
  let app: Express;
  let cookie: string;

  beforeAll(async () => {
    h = await openHarness();
    notes = await startNotes(h.runtime, h.tokenRings.get('notes')!);
    auth = await startEchoUpstream();
    app = h.buildGateway({ urls: { notes: notes.url, auth: auth.url } });
    cookie = await h.signIn(await h.createUser());
  });
  afterAll(async () => {
    await notes.close();
    await auth.close();
    await h.close();
  });

  const create = () => request(app).post('/api/notes/notebooks').set('Cookie', cookie);

  it('refuses a POST from a foreign Origin with 403 csrf_rejected', async () => {
    const res = await create().set('Origin', 'https://evil.example').send({ title: 'x' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('csrf_rejected');
  });

  it('passes a POST from our own Origin through to notes', async () => {
    const res = await create().set('Origin', PUBLIC_ORIGIN).send({ title: 'same origin' });
    expect(res.status).toBe(201);
  });

  it('passes a POST without Origin that the browser marks Sec-Fetch-Site: same-origin', async () => {
    const res = await create().set('Sec-Fetch-Site', 'same-origin').send({ title: 'fetch metadata' });
    expect(res.status).toBe(201);
  });

  it('refuses a POST with neither Origin nor Sec-Fetch-Site, or marked cross-site', async () => {
    expect((await create().send({ title: 'x' })).body.code).toBe('csrf_rejected');
    expect((await create().set('Sec-Fetch-Site', 'cross-site').send({ title: 'x' })).body.code).toBe(
      'csrf_rejected',
    );
    expect((await create().set('Origin', 'null').send({ title: 'x' })).status).toBe(403);
  });

  it('checks PUT, PATCH and DELETE on /api/* and POST /auth/logout, but not reads', async () => {
    for (const method of ['put', 'patch', 'delete'] as const) {
      const res = await request(app)
        [method]('/api/me')
        .set('Cookie', cookie)
        .set('Origin', 'https://evil.example');
      expect(res.status).toBe(403);
    }
    const logout = await request(app)
      .post('/auth/logout')
      .set('Cookie', cookie)
      .set('Origin', 'https://evil.example');
    expect(logout.status).toBe(403);
    expect(auth.received).toHaveLength(0);
    const read = await request(app).get('/api/notes/notebooks').set('Cookie', cookie);
    expect(read.status).toBe(200);
    const ownLogout = await request(app)
      .post('/auth/logout')
      .set('Cookie', cookie)
      .set('Origin', PUBLIC_ORIGIN);
    expect(ownLogout.status).toBe(200);
    expect(auth.received.map((r) => r.url)).toEqual(['/auth/logout']);
  });
});
