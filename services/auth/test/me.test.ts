import request from 'supertest';
import {
  type AuthWorld,
  cookieNamed,
  SESSION_COOKIE_NAME,
  signIn,
  startAuthWorld,
} from './support/auth-world';

describe('/api/me, logout and account deletion', () => {
  let world: AuthWorld;
  beforeAll(async () => {
    world = await startAuthWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  const signedIn = async (sub: string) => {
    world.provider.signInAs({ sub, email: `${sub}@example.com`, name: sub });
    const cookie = await signIn(world);
    return { cookie, uid: (await world.uidOf(cookie))! };
  };

  it('needs a gateway token', async () => {
    const res = await request(world.app).get('/api/me');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'token_invalid', reason: 'missing' });
  });

  it('updates the display name, and refuses is_admin, role or any other field with 400', async () => {
    const { uid } = await signedIn('dora');
    const token = world.tokenFor(uid);
    expect(
      (await request(world.app).patch('/api/me').set('X-User-Token', token).send({ displayName: 'Dora E.' }))
        .status,
    ).toBe(204);
    for (const body of [
      { is_admin: true },
      { displayName: 'x', is_admin: true },
      { role: 'admin' },
      { isAdmin: true },
    ]) {
      const res = await request(world.app)
        .patch('/api/me')
        .set('X-User-Token', world.tokenFor(uid))
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const owner = world.testDb.connectOwner();
    try {
      const [row] = await owner.sql<
        { is_admin: boolean }[]
      >`select is_admin from user_sessions where id = ${uid}`;
      expect(row!.is_admin).toBe(false);
    } finally {
      await owner.close();
    }
    const me = await request(world.app).get('/api/me').set('X-User-Token', world.tokenFor(uid));
    expect(me.body.displayName).toBe('Dora E.');
  });

  it('logout revokes the session on the server and clears the cookie', async () => {
    const { cookie } = await signedIn('eve');
    const res = await request(world.app).post('/auth/logout').set('Cookie', cookie);
    expect(res.status).toBe(204);
    expect(String(res.headers['set-cookie'])).toMatch(new RegExp(`${SESSION_COOKIE_NAME}=;.*Max-Age=0`));
    expect(await world.uidOf(cookie)).toBeUndefined();
  });

  it('logout without a session is harmless', async () => {
    expect((await request(world.app).post('/auth/logout')).status).toBe(204);
    expect(
      (await request(world.app).post('/auth/logout').set('Cookie', `${SESSION_COOKIE_NAME}=garbage`)).status,
    ).toBe(204);
  });

  it('DELETE records the deletion request, answers 202 with the purge date, and signs the user out everywhere', async () => {
    const { cookie, uid } = await signedIn('fred');
    // The window the client shows before asking (the purge date below is now + this many days).
    const shown = await request(world.app).get('/api/me').set('X-User-Token', world.tokenFor(uid));
    expect(shown.body.accountPurgeDays).toBe(30);
    world.provider.signInAs({ sub: 'fred', email: 'fred@example.com', name: 'fred' });
    const second = await signIn(world);
    const before = Date.now();
    const res = await request(world.app).delete('/api/me').set('X-User-Token', world.tokenFor(uid));
    expect(res.status).toBe(202);
    const purgeBy = new Date(res.body.purgeBy).getTime();
    expect(purgeBy).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 5000);
    expect(purgeBy).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 5000);
    expect(cookieNamed(res.headers['set-cookie'], SESSION_COOKIE_NAME)).toBeUndefined();
    expect(await world.uidOf(cookie)).toBeUndefined();
    expect(await world.uidOf(second)).toBeUndefined();
    // Asking again does not move the purge date.
    const again = await request(world.app).delete('/api/me').set('X-User-Token', world.tokenFor(uid));
    expect(again.body.purgeBy).toBe(res.body.purgeBy);
    const me = await request(world.app).get('/api/me').set('X-User-Token', world.tokenFor(uid));
    expect(me.body.deletionRequestedAt).toBe(res.body.requestedAt);
    // The purge job was enqueued with the request, once, however often the user asked.
    const owner = world.testDb.connectOwner();
    try {
      const jobs = await owner.sql<{ type: string; state: string }[]>`
        select type, state from jobs where user_id = ${uid}`;
      expect(jobs).toEqual([{ type: 'account.purge', state: 'queued' }]);
    } finally {
      await owner.close();
    }
  });
});
