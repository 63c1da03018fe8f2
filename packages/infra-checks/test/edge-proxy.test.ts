import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@tenantmesh/testing';
import { type Certificate, createSelfSignedCertificate } from './support/edge-certificate';
import { declareBody, keepAliveAgent, readEventStream, request, startUpload } from './support/edge-client';
import { type EventUpstream, startEventUpstream } from './support/edge-event-upstream';
import { type Mesh, startMesh } from './support/edge-mesh';
import { type Edge, startEdge } from './support/edge-nginx';
import { startTls11Server, tlsHandshake } from './support/edge-tls-probe';
import { startWireTap, type WireTap } from './support/edge-wire-tap';

/**
 * infra/edge/nginx.conf, rendered by its own render.sh, on the real nginx, in front of the real
 * gateway (TRUST_PROXY_HOPS=1) and notes processes. A recording tap between nginx and the gateway
 * shows exactly what the edge tells the gateway; a small event stream stands in for the events
 * service. Each test connects from its own loopback address (127.0.0.x), so the per-IP rate limit
 * of one never spends another's budget.
 */
const HSTS = 'max-age=63072000; includeSubDomains';
const ONE_GIB = 1024 ** 3;
const EVENT_INTERVAL_MS = 200;

describe('the edge proxy (infra/edge/nginx.conf on real nginx, in front of the real gateway)', () => {
  let dir: string;
  let certificate: Certificate;
  let events: EventUpstream;
  let mesh: Mesh;
  let tap: WireTap;
  let edge: Edge;
  /** The same committed file with the other layers opened up (see Loosening in edge-nginx.ts). */
  let loosened: Edge;
  let cookie: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-edge-test-'));
    certificate = createSelfSignedCertificate(dir);
    events = await startEventUpstream({ intervalMs: EVENT_INTERVAL_MS, maxEvents: 50 });
    const [httpsPort, httpPort, loosenedHttpsPort, loosenedHttpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    mesh = await startMesh({
      publicOrigin: `https://localhost:${httpsPort}`,
      eventsUrl: events.url,
      gatewayEnv: { TRUST_PROXY_HOPS: '1' },
    });
    tap = await startWireTap({ host: '127.0.0.1', port: mesh.gatewayPort });
    const common = { upstream: tap.address, certificate, rateLimit: '5r/s', rateBurst: 10 };
    edge = await startEdge({ ...common, httpsPort, httpPort });
    loosened = await startEdge({
      ...common,
      httpsPort: loosenedHttpsPort,
      httpPort: loosenedHttpPort,
      loosen: ['all-ciphers', 'gzip-event-streams'],
    });
    cookie = await mesh.signIn();
  }, 60_000);

  afterAll(async () => {
    await edge?.stop();
    await loosened?.stop();
    await tap?.close();
    await mesh?.stop();
    await events?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('TLS', () => {
    it('refuses TLS 1.0 and TLS 1.1, even to a client willing to speak them', async () => {
      for (const version of ['tls1', 'tls1_1'] as const) {
        const handshake = await tlsHandshake(edge.httpsPort, version);
        expect({ version, established: handshake.established }).toEqual({ version, established: false });
      }
    });

    it('accepts TLS 1.2 and TLS 1.3', async () => {
      const tls12 = await tlsHandshake(edge.httpsPort, 'tls1_2');
      const tls13 = await tlsHandshake(edge.httpsPort, 'tls1_3');
      expect(tls12.established).toBe(true);
      expect(tls12.negotiated).toMatch(/^TLSv1\.2, Cipher is ECDHE-/);
      expect(tls13.established).toBe(true);
      expect(tls13.negotiated).toMatch(/^TLSv1\.3, /);
    });

    it('issues no session tickets on TLS 1.2 (a ticket key would outlive the sessions it protects)', async () => {
      const tls12 = await tlsHandshake(edge.httpsPort, 'tls1_2');
      expect(tls12.established).toBe(true);
      expect(tls12.output).not.toMatch(/TLS session ticket/);
    });

    it('the probe can speak TLS 1.1, so its refusals above are the edge’s doing', async () => {
      const port = await freePort();
      const server = await startTls11Server(port, certificate);
      try {
        const handshake = await tlsHandshake(port, 'tls1_1');
        expect(handshake.established).toBe(true);
        expect(handshake.output).toMatch(/Protocol\s*: TLSv1\.1/);
      } finally {
        await server.stop();
      }
    });

    it('ssl_protocols alone refuses TLS 1.0 and 1.1: with every cipher OpenSSL has allowed, they stay refused', async () => {
      for (const version of ['tls1', 'tls1_1'] as const) {
        const handshake = await tlsHandshake(loosened.httpsPort, version);
        expect({ version, established: handshake.established }).toEqual({ version, established: false });
      }
      expect((await tlsHandshake(loosened.httpsPort, 'tls1_2')).established).toBe(true);
    });
  });

  describe('HSTS, on every answer', () => {
    it('is on a proxied 200 exactly once, with the edge’s value (the gateway’s own copy is hidden)', async () => {
      const res = await request(`${edge.origin}/.well-known/security.txt`, { from: '127.0.0.2' });
      expect(res.status).toBe(200);
      expect(res.all('strict-transport-security')).toEqual([HSTS]);
    });

    it('is on errors too: the edge’s own 404, and the gateway’s 401 problem', async () => {
      const hidden = await request(`${edge.origin}/metrics`, { from: '127.0.0.2' });
      expect(hidden.status).toBe(404);
      expect(hidden.all('strict-transport-security')).toEqual([HSTS]);
      const unauthenticated = await request(`${edge.origin}/api/notes/notebooks`, { from: '127.0.0.2' });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(unauthenticated.all('strict-transport-security')).toEqual([HSTS]);
    });

    it('names no nginx version, in the Server header or on its error pages', async () => {
      const res = await request(`${edge.origin}/healthz`, { from: '127.0.0.2' });
      expect(res.headers.server).toBe('nginx');
      expect(res.body).not.toMatch(/nginx\/\d/);
    });
  });

  it('redirects plain HTTP to the public https origin with a 301, keeping path and query', async () => {
    const res = await request(`http://127.0.0.1:${edge.httpPort}/api/notes/notebooks?page=2`, {
      headers: { host: 'evil.example' },
    });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`${edge.origin}/api/notes/notebooks?page=2`);
  });

  describe('per-IP rate limit', () => {
    it('answers a burst from one address with 429s (HSTS included), while another address is still served', async () => {
      const agent = keepAliveAgent();
      const statuses: number[] = [];
      let throttled: Awaited<ReturnType<typeof request>> | undefined;
      try {
        for (let i = 0; i < 40; i++) {
          const res = await request(`${edge.origin}/.well-known/security.txt`, { from: '127.0.0.3', agent });
          statuses.push(res.status);
          if (res.status === 429) throttled ??= res;
        }
      } finally {
        agent.destroy();
      }
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(throttled?.all('strict-transport-security')).toEqual([HSTS]);

      const neighbour = await request(`${edge.origin}/.well-known/security.txt`, { from: '127.0.0.4' });
      expect(neighbour.status).toBe(200);
    });
  });

  describe('server-sent events', () => {
    it('passes each event on as the upstream writes it, not in batches', async () => {
      const read = await readEventStream(`${edge.origin}/api/events`, {
        headers: { cookie },
        from: '127.0.0.5',
        count: 4,
        timeoutMs: 5000,
      });
      expect(read.status).toBe(200);
      expect(read.headers['content-type']).toBe('text/event-stream');
      expect(read.events.map((e) => e.data)).toEqual(['event 1', 'event 2', 'event 3', 'event 4']);
      // The first event is here long before the upstream has written five, and the next ones
      // follow at the upstream's pace rather than together.
      expect(read.events[0]!.atMs).toBeLessThan(5 * EVENT_INTERVAL_MS);
      expect(read.events[3]!.atMs - read.events[0]!.atMs).toBeGreaterThanOrEqual(2 * EVENT_INTERVAL_MS);
    });

    it('is never compressed, even for a client that asks for gzip (ordinary answers are)', async () => {
      // A list big enough to be worth compressing, so the stream's exemption below is a decision.
      const owner = await mesh.signIn();
      const headers = { cookie: owner, origin: edge.origin, 'content-type': 'application/json' };
      for (let i = 0; i < 6; i++) {
        const created = await request(`${edge.origin}/api/notes/notebooks`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ title: `${i}`.padEnd(200, '-') }),
          from: '127.0.0.11',
        });
        expect(created.status).toBe(201);
      }
      const list = await request(`${edge.origin}/api/notes/notebooks`, {
        headers: { cookie: owner, 'accept-encoding': 'gzip' },
        from: '127.0.0.11',
      });
      expect(list.status).toBe(200);
      expect(list.headers['content-encoding']).toBe('gzip');

      const read = await readEventStream(`${edge.origin}/api/events`, {
        headers: { cookie, 'accept-encoding': 'gzip' },
        from: '127.0.0.5',
        count: 1,
        timeoutMs: 5000,
      });
      expect(read.status).toBe(200);
      expect(read.headers['content-encoding']).toBeUndefined();
      expect(read.events.map((e) => e.data)).toEqual(['event 1']);
    });

    it('stays uncompressed by the stream location’s own `gzip off`, even with text/event-stream in gzip_types', async () => {
      const read = await readEventStream(`${loosened.origin}/api/events`, {
        headers: { cookie, 'accept-encoding': 'gzip' },
        from: '127.0.0.5',
        count: 1,
        timeoutMs: 5000,
      });
      expect(read.status).toBe(200);
      expect(read.headers['content-encoding']).toBeUndefined();
    });
  });

  describe('what the gateway is told', () => {
    it('X-Forwarded-For is the client’s TCP address alone: an address the client writes reaches neither the gateway nor the service behind it', async () => {
      const before = { tap: tap.seen.length, events: events.requests.length };
      const read = await readEventStream(`${edge.origin}/api/events`, {
        headers: { cookie, 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6' },
        from: '127.0.0.6',
        count: 1,
        timeoutMs: 5000,
      });
      expect(read.status).toBe(200);
      // Behind the gateway: the address the gateway vouched for is the edge's TCP peer.
      const atService = events.requests.slice(before.events).at(-1);
      expect(atService?.headers['x-forwarded-for']).toEqual(['127.0.0.6']);
      expect(JSON.stringify(atService?.headers)).not.toContain('6.6.6.6');
      // On the wire from nginx: one entry, replaced rather than appended to, so even a gateway
      // trusting more hops than it should could not be fooled.
      const atGateway = tap.seen.slice(before.tap).find((r) => r.url === '/api/events');
      expect(atGateway?.headers['x-forwarded-for']).toEqual(['127.0.0.6']);
      expect(atGateway?.headers['x-forwarded-proto']).toEqual(['https']);
      expect(atGateway?.headers.forwarded).toBeUndefined();
    });

    it('one request id, the edge’s, runs from its access log through the gateway to the service', async () => {
      const before = { tap: tap.seen.length, events: events.requests.length };
      const read = await readEventStream(`${edge.origin}/api/events`, {
        headers: { cookie, 'x-request-id': 'chosen-by-the-client' },
        from: '127.0.0.6',
        count: 1,
        timeoutMs: 5000,
      });
      const id = read.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(
        tap.seen.slice(before.tap).find((r) => r.url === '/api/events')?.headers['x-request-id'],
      ).toEqual([id]);
      expect(events.requests.slice(before.events).at(-1)?.headers['x-request-id']).toEqual([id]);
      const logged = await waitFor(() => edge.accessLog().find((line) => line.request_id === id));
      expect(logged).toMatchObject({ path: '/api/events', status: 200, remote_addr: '127.0.0.6' });
    });

    it('serves a real route through to notes: a notebook created over the edge is listed over it', async () => {
      const headers = { cookie, origin: edge.origin, 'content-type': 'application/json' };
      const created = await request(`${edge.origin}/api/notes/notebooks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ title: 'Through the edge' }),
        from: '127.0.0.7',
      });
      expect(created.status).toBe(201);
      const listed = await request(`${edge.origin}/api/notes/notebooks`, {
        headers: { cookie },
        from: '127.0.0.7',
      });
      expect(listed.status).toBe(200);
      expect(JSON.parse(listed.body)).toMatchObject({ notebooks: [{ title: 'Through the edge' }] });
    });
  });

  it('answers /metrics, /healthz and /readyz with 404 itself, however the path is spelled', async () => {
    const before = tap.seen.length;
    for (const p of [
      '/metrics',
      '/healthz',
      '/readyz',
      '/METRICS',
      '/metrics/',
      '/%6detrics',
      '/readyz?full=1',
    ]) {
      const res = await request(`${edge.origin}${p}`, { from: '127.0.0.8' });
      expect({ path: p, status: res.status }).toEqual({ path: p, status: 404 });
      expect(res.body).not.toContain('# HELP');
    }
    expect(tap.seen.slice(before)).toEqual([]);
  });

  it('takes bodies beyond nginx’s 1 MB default, up to the files service’s 1 GiB, and refuses a larger one before reading it', async () => {
    const before = tap.seen.length;
    const twoMiB = Buffer.alloc(2 * 1024 * 1024, 'x');
    const res = await request(`${edge.origin}/.well-known/security.txt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: twoMiB,
      from: '127.0.0.9',
    });
    expect(res.status).not.toBe(413);
    // nginx reads the whole body before it proxies, so the gateway was offered all of it.
    expect(tap.seen.slice(before).map((r) => r.headers['content-length'])).toEqual([[String(twoMiB.length)]]);

    // Only the declared length is sent: nginx judges it from Content-Length before any body, on
    // the streaming /api/files location too, and never bothers the gateway with it.
    const beforeRefusal = tap.seen.length;
    expect(
      await declareBody(`${edge.origin}/api/files`, ONE_GIB + 1, { from: '127.0.0.9', waitMs: 3000 }),
    ).toBe(413);
    expect(tap.seen.slice(beforeRefusal)).toEqual([]);
    // Exactly 1 GiB is allowed: where bodies are buffered, nginx waits for the body instead of
    // refusing it…
    expect(
      await declareBody(`${edge.origin}/.well-known/security.txt`, ONE_GIB, {
        from: '127.0.0.9',
        waitMs: 500,
      }),
    ).toBeUndefined();
    // …and under /api/files (streamed) it hands the request on with its first bytes, so the
    // gateway sees the whole declared length and answers (here: no session) long before the end.
    const beforeUpload = tap.seen.length;
    const upload = startUpload(`${edge.origin}/api/files/one-gib.bin`, {
      contentLength: ONE_GIB,
      sendBytes: 64 * 1024,
      from: '127.0.0.9',
    });
    try {
      const status = await Promise.race([
        upload.answer,
        new Promise<'none'>((resolve) => setTimeout(() => resolve('none'), 3000)),
      ]);
      expect(status).not.toBe('none');
      expect(status).not.toBe(413);
      expect(
        tap.seen.slice(beforeUpload).find((r) => r.url === '/api/files/one-gib.bin')?.headers[
          'content-length'
        ],
      ).toEqual([String(ONE_GIB)]);
    } finally {
      upload.abort();
    }
  });

  it('streams an upload under /api/files to the gateway before its body is complete, while other paths get it only once whole', async () => {
    const before = tap.seen.length;
    const declared = 64 * 1024 * 1024;
    const sent = 256 * 1024;
    const headers = { cookie, origin: edge.origin };
    // The same slow client, 256 KiB of 64 MiB sent and the rest held back, on two paths.
    const streamed = startUpload(`${edge.origin}/api/files/large.bin`, {
      contentLength: declared,
      sendBytes: sent,
      headers,
      from: '127.0.0.12',
    });
    const buffered = startUpload(`${edge.origin}/api/notes/notebooks`, {
      method: 'POST',
      contentLength: declared,
      sendBytes: sent,
      headers,
      from: '127.0.0.13',
    });
    try {
      const atGateway = await waitFor(() =>
        tap.seen.slice(before).find((r) => r.url === '/api/files/large.bin'),
      );
      expect(atGateway?.method).toBe('PUT');
      expect(atGateway?.headers['content-length']).toEqual([String(declared)]);
      // The gateway's answer arrives while most of the body is still unsent: it has no FILES_URL
      // here, so after the session and CSRF checks its route answers 503 service_unavailable.
      expect(await streamed.answer).toBe(503);
      // The buffered path: nginx is still reading the body into its temp file; the gateway has
      // seen nothing of it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(tap.seen.slice(before).filter((r) => r.url.startsWith('/api/notes'))).toEqual([]);
    } finally {
      streamed.abort();
      buffered.abort();
    }
    expect(await buffered.answer).toBeUndefined();
  });

  it('logs one JSON line per request, without cookies, credentials or query strings', async () => {
    const res = await request(`${edge.origin}/auth/google/callback?code=code-secret-3&state=s`, {
      headers: {
        cookie: 'tm_probe=cookie-secret-1',
        authorization: 'Bearer auth-secret-2',
        // Quotes and backslashes stay valid JSON only with escape=json.
        'user-agent': 'probe "quoted" \\ agent',
      },
      from: '127.0.0.10',
    });
    // The gateway's answer (auth is not configured here), so the request went all the way through.
    expect(res.status).toBe(503);
    const id = res.headers['x-request-id'];
    const logged = await waitFor(() => edge.accessLog().find((line) => line.request_id === id));
    expect(logged).toMatchObject({
      method: 'GET',
      path: '/auth/google/callback',
      status: res.status,
      remote_addr: '127.0.0.10',
      user_agent: 'probe "quoted" \\ agent',
      tls: expect.stringMatching(/^TLSv1\.[23]$/),
    });
    // (nginx's error log, a separate stream, does quote the request line of a failed request.)
    const accessLog = JSON.stringify(edge.accessLog());
    for (const secret of ['cookie-secret-1', 'auth-secret-2', 'code-secret-3']) {
      expect(accessLog).not.toContain(secret);
    }
  });
});

/** Polls until check returns something (nginx writes its log line after the answer), for up to 3 s. */
async function waitFor<T>(check: () => T | undefined): Promise<T | undefined> {
  for (let i = 0; i < 60; i++) {
    const found = check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}
