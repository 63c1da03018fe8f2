import { loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import {
  createSecretsDir,
  createTestDatabase,
  type SecretsDir,
  type TestDatabase,
} from '@tenantmesh/testing';
import { mintUserToken, type TokenKeys, tokenKeySecrets, tokenKeysFrom } from '@tenantmesh/user-token';
import type { Express } from 'express';
import request from 'supertest';
import { buildApp } from '../src/app';
import { tokenKeyPlan } from '../src/config';

describe('notes service', () => {
  let testDb: TestDatabase;
  let owner: Database;
  let runtime: Database;
  let secrets: SecretsDir;
  let keys: TokenKeys;
  let app: Express;
  let alice: string;
  let bob: string;

  const tokenFor = (uid: string, audience = 'notes') =>
    mintUserToken({ issuer: 'gateway', audience, uid, ring: keys.verifying.get('gateway')! });

  beforeAll(async () => {
    testDb = await createTestDatabase();
    owner = testDb.connectOwner();
    runtime = testDb.connectRuntime();
    secrets = createSecretsDir();
    secrets.writeRing('token_keys_gateway_notes');
    const config = loadConfig(
      { SECRETS_DIR: secrets.dir },
      { settings: {}, secrets: tokenKeySecrets(tokenKeyPlan) },
    );
    keys = tokenKeysFrom(config.secrets, tokenKeyPlan);
    app = buildApp({
      logger: createLogger({ service: 'notes', level: 'error' }),
      metrics: createMetrics({ service: 'notes' }),
      database: runtime,
      keys,
    });
    const users = await owner.sql<{ id: string }[]>`
      insert into user_sessions (provider, subject) values ('test', 'alice'), ('test', 'bob') returning id`;
    alice = users[0]!.id;
    bob = users[1]!.id;
  });
  afterAll(async () => {
    await runtime.close();
    await owner.close();
    await testDb.drop();
    secrets.remove();
  });

  it('creates and lists a user’s notebooks and notes', async () => {
    const nb = await request(app)
      .post('/notebooks')
      .set('X-User-Token', tokenFor(alice))
      .send({ title: 'Ideas' });
    expect(nb.status).toBe(201);
    const note = await request(app)
      .post(`/notebooks/${nb.body.id}/notes`)
      .set('X-User-Token', tokenFor(alice))
      .send({ body: 'first' });
    expect(note.status).toBe(201);
    const list = await request(app)
      .get(`/notebooks/${nb.body.id}/notes`)
      .set('X-User-Token', tokenFor(alice));
    expect(list.body.notes.map((n: { body: string }) => n.body)).toEqual(['first']);
  });

  it('never shows or touches another user’s notebook: 404, as if it did not exist', async () => {
    const nb = await request(app)
      .post('/notebooks')
      .set('X-User-Token', tokenFor(alice))
      .send({ title: 'Private' });
    const peek = await request(app).get(`/notebooks/${nb.body.id}/notes`).set('X-User-Token', tokenFor(bob));
    expect(peek.status).toBe(404);
    const plant = await request(app)
      .post(`/notebooks/${nb.body.id}/notes`)
      .set('X-User-Token', tokenFor(bob))
      .send({ body: 'planted' });
    expect(plant.status).toBe(404);
    const bobs = await request(app).get('/notebooks').set('X-User-Token', tokenFor(bob));
    expect(bobs.body.notebooks).toEqual([]);
    const [count] = await owner.sql<
      { n: number }[]
    >`select count(*)::int as n from notes where user_id = ${bob}`;
    expect(count!.n).toBe(0);
  });

  it('refuses a request without a token, and a token minted for another service', async () => {
    expect((await request(app).get('/notebooks')).body).toMatchObject({
      code: 'token_invalid',
      reason: 'missing',
    });
    const wrong = await request(app).get('/notebooks').set('X-User-Token', tokenFor(alice, 'files'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.reason).toBe('wrong_audience');
  });

  it('refuses fields that are not its to set (user_id, is_admin, role) with 400', async () => {
    for (const extra of [{ user_id: bob }, { is_admin: true }, { role: 'admin' }]) {
      const res = await request(app)
        .post('/notebooks')
        .set('X-User-Token', tokenFor(alice))
        .send({ title: 'x', ...extra });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('answers bad input with 400, never 500', async () => {
    const t = tokenFor(alice);
    expect((await request(app).get('/notebooks/not-a-uuid/notes').set('X-User-Token', t)).status).toBe(400);
    expect((await request(app).post('/notebooks').set('X-User-Token', t).send({ title: '' })).status).toBe(
      400,
    );
    expect(
      (
        await request(app)
          .post('/notebooks')
          .set('X-User-Token', t)
          .send({ title: 'x'.repeat(201) })
      ).status,
    ).toBe(400);
    expect(
      (
        await request(app)
          .post('/notebooks')
          .set('X-User-Token', t)
          .set('content-type', 'application/json')
          .send('[')
      ).status,
    ).toBe(400);
    expect((await request(app).post('/notebooks').set('X-User-Token', t).send([1, 2])).status).toBe(400);
  });

  it('answers 409, not 500, when a valid token names a user that no longer exists', async () => {
    const res = await request(app)
      .post('/notebooks')
      .set('X-User-Token', tokenFor('00000000-0000-4000-8000-000000000000'))
      .send({ title: 'orphan' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('conflict');
  });

  it('is ready when its database answers', async () => {
    const res = await request(app).get('/readyz');
    expect(res.body).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
  });
});
