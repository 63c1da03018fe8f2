import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';
import { startNotes } from './support/notes-upstream';

/** The gateway serves the built web client at `/` (here a stand-in build in a temporary directory). */
describe('the web client, served by the gateway', () => {
  let h: Harness;
  let notes: Awaited<ReturnType<typeof startNotes>>;
  let app: Express;
  let root: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-web-'));
    fs.mkdirSync(path.join(root, 'assets'));
    fs.writeFileSync(
      path.join(root, 'index.html'),
      '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>',
    );
    fs.writeFileSync(path.join(root, 'assets', 'app-1a2b.js'), 'console.log(1)');
    fs.writeFileSync(path.join(root, '.env'), 'SECRET=1');
    h = await openHarness();
    notes = await startNotes(h.runtime, h.tokenRings.get('notes')!);
    app = h.buildGateway({ urls: { notes: notes.url }, webRoot: root });
  });
  afterAll(async () => {
    await notes.close();
    await h.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / (revalidated every time) under the gateway’s CSP', async () => {
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('/assets/app-1a2b.js');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('caches the content-hashed assets for a year', async () => {
    const res = await request(app).get('/assets/app-1a2b.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('serves nothing else: no dotfiles, no paths out of its directory, no other methods', async () => {
    expect((await request(app).get('/.env')).status).toBe(404);
    expect((await request(app).get('/assets/../../etc/passwd')).status).toBeGreaterThanOrEqual(400);
    expect((await request(app).get('/%2e%2e/%2e%2e/etc/passwd')).status).toBeGreaterThanOrEqual(400);
    expect((await request(app).get('/nope.js')).status).toBe(404);
    const post = await request(app).post('/').set('Origin', PUBLIC_ORIGIN).send('x');
    expect(post.status).toBe(404);
  });

  it('never shadows the API: /api still needs a session, whatever files the build holds', async () => {
    fs.mkdirSync(path.join(root, 'api'), { recursive: true });
    fs.writeFileSync(path.join(root, 'api', 'me'), '{"id":"not the API"}');
    const res = await request(app).get('/api/me');
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('not the API');
  });
});
