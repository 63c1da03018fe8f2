import type { Express } from 'express';
import request from 'supertest';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';
import { startNotes } from './support/notes-upstream';

describe('notes through the gateway', () => {
  let h: Harness;
  let notes: Awaited<ReturnType<typeof startNotes>>;
  let app: Express;
  let alice: string;
  let aliceCookie: string;
  let bobCookie: string;

  beforeAll(async () => {
    h = await openHarness();
    notes = await startNotes(h.runtime, h.tokenRings.get('notes')!);
    app = h.buildGateway({ urls: { notes: notes.url } });
    alice = await h.createUser('alice');
    aliceCookie = await h.signIn(alice);
    bobCookie = await h.signIn(await h.createUser('bob'));
  });
  afterAll(async () => {
    await notes.close();
    await h.close();
  });

  it('creates and lists notebooks end to end: session → minted token → notes verifies it', async () => {
    const created = await request(app)
      .post('/api/notes/notebooks')
      .set('Cookie', aliceCookie)
      .set('Origin', PUBLIC_ORIGIN)
      .send({ title: 'Ideas' });
    expect(created.status).toBe(201);
    const listed = await request(app).get('/api/notes/notebooks').set('Cookie', aliceCookie);
    expect(listed.status).toBe(200);
    expect(listed.body.notebooks.map((n: { title: string }) => n.title)).toEqual(['Ideas']);
    const [row] = await h.owner.sql<
      { user_id: string }[]
    >`select user_id from notebooks where id = ${created.body.id}`;
    expect(row!.user_id).toBe(alice);

    const note = await request(app)
      .post(`/api/notes/notebooks/${created.body.id}/notes`)
      .set('Cookie', aliceCookie)
      .set('Origin', PUBLIC_ORIGIN)
      .send({ body: 'first' });
    expect(note.status).toBe(201);
  });

  it('shows each session only its own user’s notebooks', async () => {
    const bobs = await request(app).get('/api/notes/notebooks').set('Cookie', bobCookie);
    expect(bobs.status).toBe(200);
    expect(bobs.body.notebooks).toEqual([]);
  });

  it('keeps notes’ operational endpoints unreachable from outside', async () => {
    for (const path of ['/api/notes/metrics', '/api/notes/readyz', '/api/notes/healthz']) {
      const res = await request(app).get(path).set('Cookie', aliceCookie);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
  });

  it('refuses paths with empty or dot segments instead of guessing what they mean', async () => {
    for (const path of [
      '/api/notes/notebooks/../metrics',
      '/api/notes/notebooks/%2e%2e/metrics',
      '/api/notes//notebooks',
      '/auth//logout',
    ]) {
      const res = await request(app).get(path).set('Cookie', aliceCookie);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('bad_request');
    }
  });
});
