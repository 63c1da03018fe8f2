import type { Express } from 'express';
import request from 'supertest';
import { startFiles } from './support/files-upstream';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';

describe('files through the gateway', () => {
  let h: Harness;
  let files: Awaited<ReturnType<typeof startFiles>>;
  let app: Express;
  let alice: string;
  let aliceCookie: string;
  let bob: string;
  let bobCookie: string;

  beforeAll(async () => {
    h = await openHarness();
    files = await startFiles(h.runtime, h.tokenRings.get('files')!);
    app = h.buildGateway({ urls: { files: files.url } });
    alice = await h.createUser('alice');
    aliceCookie = await h.signIn(alice);
    bob = await h.createUser('bob');
    bobCookie = await h.signIn(bob);
  });
  afterAll(async () => {
    await files.close();
    await h.close();
  });

  const upload = (cookie: string, name: string, body: string, type = 'text/plain') =>
    request(app)
      .put(`/api/files/${name}`)
      .set('Cookie', cookie)
      .set('Origin', PUBLIC_ORIGIN)
      .type(type)
      .send(body);

  it('uploads into the caller’s own namespace and reads it back, JSON bodies included', async () => {
    expect((await upload(aliceCookie, 'hello.txt', 'hi alice')).status).toBe(201);
    // A .json upload is an object, not an API body: the gateway streams it without parsing.
    const json = await upload(
      aliceCookie,
      'data.json',
      JSON.stringify({ big: 'x'.repeat(200_000) }),
      'application/json',
    );
    expect(json.status).toBe(201);
    expect(json.body.size).toBeGreaterThan(200_000);
    const read = await request(app).get('/api/files/hello.txt').set('Cookie', aliceCookie);
    expect(read.status).toBe(200);
    expect(read.text).toBe('hi alice');
    const [row] = await h.owner.sql<
      { user_id: string }[]
    >`select user_id from file_objects where name = 'hello.txt'`;
    expect(row!.user_id).toBe(alice);
  });

  it('shows each session only its own user’s files, and a uid in the path reaches nobody else’s', async () => {
    const list = await request(app).get('/api/files').set('Cookie', bobCookie);
    expect(list.status).toBe(200);
    expect(list.body.objects).toEqual([]);
    expect((await request(app).get('/api/files/hello.txt').set('Cookie', bobCookie)).status).toBe(404);
    // Naming alice's uid only makes a (refused) name inside bob's own namespace.
    const sneaky = await request(app).get(`/api/files/${alice}/hello.txt`).set('Cookie', bobCookie);
    expect(sneaky.status).toBe(400);
    expect(sneaky.body.code).toBe('invalid_object_name');
    const encoded = await request(app).get(`/api/files/${alice}%2fhello.txt`).set('Cookie', bobCookie);
    expect(encoded.status).toBe(400);
    expect(
      (
        await request(app)
          .delete('/api/files/hello.txt')
          .set('Cookie', bobCookie)
          .set('Origin', PUBLIC_ORIGIN)
      ).status,
    ).toBe(404);
    expect((await request(app).get('/api/files/hello.txt').set('Cookie', aliceCookie)).text).toBe('hi alice');
  });

  it('needs a session, and keeps files’ operational endpoints unreachable', async () => {
    expect((await request(app).get('/api/files')).status).toBe(401);
    for (const path of ['/api/files/../metrics', '/api/files/%2e%2e/readyz']) {
      expect((await request(app).get(path).set('Cookie', aliceCookie)).status).toBe(400);
    }
    // /api/files/metrics is a (missing) object called "metrics", not the service's metrics.
    const metrics = await request(app).get('/api/files/metrics').set('Cookie', aliceCookie);
    expect(metrics.status).toBe(404);
    expect(metrics.text).not.toContain('http_request_duration_seconds');
  });

  it('refuses cross-site uploads (CSRF) before they reach the files service', async () => {
    const res = await request(app)
      .put('/api/files/x.txt')
      .set('Cookie', aliceCookie)
      .set('Origin', 'https://evil.example')
      .send('x');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('csrf_rejected');
  });
});
