import type { Express } from 'express';
import request from 'supertest';
import { type Harness, openHarness } from './support/gateway-harness';
import { startNotes } from './support/notes-upstream';

const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';" +
  "frame-ancestors 'none';base-uri 'self';form-action 'self';object-src 'none'";

function expectBrowserHeaders(headers: Record<string, string>) {
  const hsts = headers['strict-transport-security'] ?? '';
  expect(Number(/max-age=(\d+)/.exec(hsts)?.[1])).toBeGreaterThanOrEqual(31_536_000);
  expect(hsts).toContain('includeSubDomains');
  expect(headers['content-security-policy']).toBe(CSP);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-powered-by']).toBeUndefined();
}

describe('security headers', () => {
  let h: Harness;
  let notes: Awaited<ReturnType<typeof startNotes>>;
  let app: Express;
  let cookie: string;

  beforeAll(async () => {
    h = await openHarness();
    notes = await startNotes(h.runtime, h.tokenRings.get('notes')!);
    app = h.buildGateway({ urls: { notes: notes.url } });
    cookie = await h.signIn(await h.createUser());
  });
  afterAll(async () => {
    await notes.close();
    await h.close();
  });

  it('sends HSTS, the web client’s CSP, nosniff and no framing on the gateway’s own answers', async () => {
    for (const path of ['/healthz', '/.well-known/security.txt', '/api/notes/notebooks', '/nope']) {
      expectBrowserHeaders((await request(app).get(path)).headers);
    }
  });

  it('keeps its own security headers on proxied answers, over the upstream’s defaults', async () => {
    const res = await request(app).get('/api/notes/notebooks').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expectBrowserHeaders(res.headers);
  });
});
