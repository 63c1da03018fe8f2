import http from 'node:http';
import { mintUserToken } from '@tenantmesh/user-token';
import type { Express } from 'express';
import request from 'supertest';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';

/** Sends headers exactly as given (repeats and odd case included), which supertest cannot. */
function rawGet(app: Express, path: string, headers: [string, string][]): Promise<number> {
  const server = http.createServer(app);
  return new Promise((resolve, reject) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      // An array keeps every header apart and as spelled; Node then adds no Host of its own.
      const raw = [['Host', `127.0.0.1:${port}`], ...headers].flat();
      const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers: raw });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          server.closeAllConnections();
          server.close(() => resolve(res.statusCode ?? 0));
        });
      });
      req.on('error', reject);
      req.end();
    });
  });
}

describe('X-User-Token forwarding', () => {
  let h: Harness;
  let files: EchoUpstream;
  let auth: EchoUpstream;
  let app: Express;
  let alice: string;
  let mallory: string;
  let aliceCookie: string;

  beforeAll(async () => {
    h = await openHarness();
    files = await startEchoUpstream();
    auth = await startEchoUpstream();
    app = h.buildGateway({ urls: { files: files.url, auth: auth.url } });
    alice = await h.createUser('alice');
    mallory = await h.createUser('mallory');
    aliceCookie = await h.signIn(alice);
  });
  afterAll(async () => {
    await files.close();
    await auth.close();
    await h.close();
  });
  beforeEach(() => {
    files.received.length = 0;
    auth.received.length = 0;
  });

  // What an attacker would send: a well-formed token for another user, even one correctly signed.
  const forgedFor = (uid: string) =>
    mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring: h.tokenRings.get('files')! });

  it('replaces a client-sent token for another uid with one minted for the session’s uid and the upstream’s audience', async () => {
    const res = await request(app)
      .get('/api/files/report.pdf')
      .set('Cookie', aliceCookie)
      .set('X-User-Token', forgedFor(mallory));
    expect(res.status).toBe(200);
    expect(files.received).toHaveLength(1);
    const tokens = files.received[0]!.headers['x-user-token'];
    expect(tokens).toHaveLength(1);
    expect(h.verifyToken(tokens![0]!, 'files')).toEqual({ uid: alice, issuer: 'gateway' });
  });

  it('drops client tokens sent twice and in odd case, and forwards exactly one of its own', async () => {
    const status = await rawGet(app, '/api/files/x', [
      ['Cookie', aliceCookie],
      ['x-user-token', forgedFor(mallory)],
      ['X-USER-TOKEN', forgedFor(mallory)],
      ['x-UsEr-ToKeN', 'junk'],
    ]);
    expect(status).toBe(200);
    const tokens = files.received[0]!.headers['x-user-token'];
    expect(tokens).toHaveLength(1);
    expect(h.verifyToken(tokens![0]!, 'files').uid).toBe(alice);
  });

  it('forwards nothing at all when there is no session, whatever token the client sends', async () => {
    const res = await request(app).get('/api/files/x').set('X-User-Token', forgedFor(mallory));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(files.received).toHaveLength(0);
  });

  it('mints a fresh token per call', async () => {
    await request(app).get('/api/files/a').set('Cookie', aliceCookie);
    await request(app).get('/api/files/b').set('Cookie', aliceCookie);
    const [first, second] = files.received.map((r) => r.headers['x-user-token']![0]);
    expect(first).not.toBe(second);
  });

  it('strips client tokens on /auth/* too, and mints none there', async () => {
    await rawGet(app, '/auth/providers', [
      ['X-User-Token', forgedFor(mallory)],
      ['x-user-token', 'junk'],
    ]);
    expect(auth.received).toHaveLength(1);
    expect(auth.received[0]!.headers['x-user-token']).toBeUndefined();
  });

  it('mints an auth-audience token for /api/me and forwards the cookie to auth only', async () => {
    await request(app)
      .get('/api/me')
      .set('Cookie', `${aliceCookie}; theme=dark`)
      .set('Authorization', 'Bearer something');
    const received = auth.received[0]!;
    expect(received.url).toBe('/api/me');
    expect(h.verifyToken(received.headers['x-user-token']![0]!, 'auth').uid).toBe(alice);
    expect(received.headers.cookie).toEqual([`${aliceCookie}; theme=dark`]);

    await request(app)
      .get('/api/files/x')
      .set('Cookie', `${aliceCookie}; theme=dark`)
      .set('Authorization', 'Bearer something');
    expect(files.received[0]!.headers.cookie).toBeUndefined();
    expect(files.received[0]!.headers.authorization).toBeUndefined();
  });

  it('keeps the public path for auth', async () => {
    await request(app).get('/auth/google/callback?code=c&state=s');
    expect(auth.received[0]!.url).toBe('/auth/google/callback?code=c&state=s');
  });

  it('gives jobs only its /jobs resource, with a jobs-audience token', async () => {
    const jobs = await startEchoUpstream();
    const withJobs = h.buildGateway({ urls: { jobs: jobs.url } });
    try {
      await request(withJobs).get('/api/jobs?state=dead').set('Cookie', aliceCookie);
      await request(withJobs).get(`/api/jobs/${alice}`).set('Cookie', aliceCookie);
      expect(jobs.received.map((r) => r.url)).toEqual(['/jobs?state=dead', `/jobs/${alice}`]);
      expect(h.verifyToken(jobs.received[0]!.headers['x-user-token']![0]!, 'jobs').uid).toBe(alice);
    } finally {
      await jobs.close();
    }
  });

  it('maps /api/files to the caller’s own namespace, never one the client names', async () => {
    const sent = [
      ['/api/files', `/objects/${alice}/`],
      ['/api/files/', `/objects/${alice}/`],
      ['/api/files?limit=5&after=b', `/objects/${alice}/?limit=5&after=b`],
      ['/api/files/a.txt?download=1', `/objects/${alice}/a.txt?download=1`],
      [`/api/files/${mallory}/a.txt`, `/objects/${alice}/${mallory}/a.txt`],
      ['/api/files/caf%C3%A9.txt', `/objects/${alice}/caf%C3%A9.txt`],
    ] as const;
    for (const [path] of sent) await request(app).get(path).set('Cookie', aliceCookie);
    expect(files.received.map((r) => r.url)).toEqual(sent.map(([, upstream]) => upstream));
    for (const r of files.received)
      expect(h.verifyToken(r.headers['x-user-token']![0]!, 'files').uid).toBe(alice);
  });

  it('passes its own X-Forwarded-For and the request id, never the client’s forwarding headers', async () => {
    const res = await request(app)
      .get('/api/files/x')
      .set('Cookie', aliceCookie)
      .set('X-Forwarded-For', '203.0.113.99')
      .set('Forwarded', 'for=203.0.113.99')
      .set('X-Request-Id', 'req-12345678');
    expect(res.headers['x-request-id']).toBe('req-12345678');
    const headers = files.received[0]!.headers;
    expect(headers['x-forwarded-for']).toEqual(['127.0.0.1']);
    expect(headers.forwarded).toBeUndefined();
    expect(headers['x-request-id']).toEqual(['req-12345678']);
  });

  it('forwards a JSON body that the gateway parsed on the way in', async () => {
    const res = await request(app)
      .post('/api/files/notes.json')
      .set('Cookie', aliceCookie)
      .set('Origin', PUBLIC_ORIGIN)
      .send({ title: 'hello', n: 1 });
    expect(res.status).toBe(200);
    expect(JSON.parse(files.received[0]!.body)).toEqual({ title: 'hello', n: 1 });
  });

  it('drops Set-Cookie from upstreams other than auth', async () => {
    files.respondWith((_req, res) => {
      res.writeHead(200, { 'set-cookie': '__Host-tm_session=planted; Path=/; Secure' });
      res.end('{}');
    });
    const res = await request(app).get('/api/files/x').set('Cookie', aliceCookie);
    files.respondWith(undefined);
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
