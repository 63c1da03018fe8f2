import http from 'node:http';
import { type EchoUpstream, startEchoUpstream } from './support/echo-upstream';
import { type Harness, listenOn, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';

describe('server-sent events through the gateway', () => {
  let h: Harness;
  let events: EchoUpstream;

  beforeAll(async () => {
    h = await openHarness();
    events = await startEchoUpstream();
  });
  afterAll(async () => {
    await events.close();
    await h.close();
  });

  it('passes each event through as it is written, and outlives the ordinary upstream timeout', async () => {
    let sendSecond = () => {};
    events.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      sendSecond = () => res.end('data: two\n\n');
    });
    const gateway = await listenOn(h.buildGateway({ urls: { events: events.url }, timeoutMs: 200 }));
    const cookie = await h.signIn(await h.createUser());
    try {
      const chunks: string[] = [];
      const done = new Promise<{ status: number; headers: http.IncomingHttpHeaders; complete: boolean }>(
        (resolve, reject) => {
          const req = http.get(`${gateway.url}/api/events`, { headers: { cookie } }, (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              chunks.push(chunk);
              // The first event arrived while the upstream is still holding the stream open.
              if (chunks.length === 1) setTimeout(() => sendSecond(), 400);
            });
            const settle = () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, complete: res.complete });
            // A stream cut short, or left hanging after the upstream finished, fails here rather
            // than at jest's timeout.
            res.on('error', () => {});
            res.on('close', settle);
            setTimeout(settle, 3000).unref();
          });
          req.on('error', reject);
        },
      );
      const { status, headers, complete } = await done;
      expect(complete).toBe(true);
      expect(status).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream');
      expect(headers['x-accel-buffering']).toBe('no');
      expect(headers['content-encoding']).toBeUndefined();
      expect(chunks[0]).toBe('data: one\n\n');
      expect(chunks.join('')).toBe('data: one\n\ndata: two\n\n');
    } finally {
      await gateway.close();
    }
  });

  it('gives the events service /events for GET only: browsers read their stream, never publish to it', async () => {
    events.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
    });
    const gateway = await listenOn(h.buildGateway({ urls: { events: events.url } }));
    const cookie = await h.signIn(await h.createUser());
    try {
      const seen = events.received.length;
      const read = await fetch(`${gateway.url}/api/events?lastEventId=3`, { headers: { cookie } });
      expect(read.status).toBe(200);
      await read.text();
      expect(events.received.slice(seen).map((r) => r.url)).toEqual(['/events?lastEventId=3']);
      const publish = await fetch(`${gateway.url}/api/events`, {
        method: 'POST',
        headers: { cookie, origin: PUBLIC_ORIGIN, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'x', data: {} }),
      });
      expect(publish.status).toBe(405);
      expect(publish.headers.get('allow')).toBe('GET, HEAD');
      const elsewhere = await fetch(`${gateway.url}/api/events/metrics`, { headers: { cookie } });
      expect(elsewhere.status).toBe(404);
      expect(events.received.length).toBe(seen + 1);
    } finally {
      await gateway.close();
    }
  });
});
