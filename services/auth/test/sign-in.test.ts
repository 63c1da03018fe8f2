import request from 'supertest';
import {
  type AuthWorld,
  cookieNamed,
  SESSION_COOKIE_NAME,
  signIn,
  startAuthWorld,
  startSignIn,
} from './support/auth-world';

describe('sign-in through a real OAuth round trip', () => {
  let world: AuthWorld;
  beforeAll(async () => {
    world = await startAuthWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('lists the configured providers', async () => {
    const res = await request(world.app).get('/auth/providers');
    expect(res.body.providers.map((p: { name: string }) => p.name)).toEqual(['google', 'okta']);
  });

  it('sends the browser to the provider with state, PKCE and the openid email profile scopes', async () => {
    const res = await request(world.app).get('/auth/google');
    expect(res.status).toBe(302);
    const to = new URL(res.headers.location!);
    expect(to.origin + to.pathname).toBe(`${world.provider.url}/authorize`);
    expect(to.searchParams.get('scope')).toBe('openid email profile');
    expect(to.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('redirect_uri')).toBe('http://localhost:3000/auth/google/callback');
    expect(cookieNamed(res.headers['set-cookie'], '__Host-tm_oauth')).toBeDefined();
  });

  it('google: callback sets an HttpOnly, Secure, SameSite=Lax __Host- session cookie for the signed-in user', async () => {
    world.provider.signInAs({ sub: 'g-alice', email: 'alice@example.com', name: 'Alice' });
    const cb = await startSignIn(world, 'google');
    const done = await request(world.app).get(cb.path).set('Cookie', cb.oauthCookie);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/');
    const setCookie = (done.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith(`${SESSION_COOKIE_NAME}=`),
    )!;
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/']) expect(setCookie).toContain(attr);
    const uid = await world.uidOf(setCookie.split(';')[0]!);
    const me = await request(world.app).get('/api/me').set('X-User-Token', world.tokenFor(uid!));
    expect(me.body).toMatchObject({
      id: uid,
      provider: 'google',
      email: 'alice@example.com',
      displayName: 'Alice',
    });
  });

  it('generic OIDC (here "okta"): the same flow signs a user in, checking the id_token nonce', async () => {
    world.provider.signInAs({ sub: 'o-bob', email: 'bob@example.com', name: 'Bob' });
    const cookie = await signIn(world, 'okta');
    const uid = await world.uidOf(cookie);
    const me = await request(world.app).get('/api/me').set('X-User-Token', world.tokenFor(uid!));
    expect(me.body).toMatchObject({ provider: 'oidc:okta', email: 'bob@example.com' });
  });

  it('finds the account by (provider, subject), never by email: a matching email elsewhere is another account', async () => {
    world.provider.signInAs({ sub: 'g-carol', email: 'carol@example.com', name: 'Carol' });
    const google = await world.uidOf(await signIn(world, 'google'));
    const again = await world.uidOf(await signIn(world, 'google'));
    world.provider.signInAs({ sub: 'someone-else', email: 'carol@example.com', name: 'Not Carol' });
    const okta = await world.uidOf(await signIn(world, 'okta'));
    world.provider.signInAs({ sub: 'g-other', email: 'carol@example.com', name: 'Not Carol either' });
    const otherGoogle = await world.uidOf(await signIn(world, 'google'));
    expect(again).toBe(google);
    expect(new Set([google, okta, otherGoogle]).size).toBe(3);
  });

  describe('refuses, with 4xx and no session', () => {
    const noSession = (res: request.Response) => {
      expect(cookieNamed(res.headers['set-cookie'], SESSION_COOKIE_NAME)).toBeUndefined();
    };

    it('a callback with a wrong state', async () => {
      const cb = await startSignIn(world, 'google');
      const res = await request(world.app)
        .get(cb.path.replace(/state=[^&]+/, 'state=forged-state-value'))
        .set('Cookie', cb.oauthCookie);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'sign_in_failed', reason: 'state_invalid' });
      noSession(res);
    });

    it('a callback with no state', async () => {
      const cb = await startSignIn(world, 'google');
      const res = await request(world.app)
        .get(cb.path.replace(/&?state=[^&]+/, ''))
        .set('Cookie', cb.oauthCookie);
      expect(res.status).toBe(400);
      expect(res.body.reason).toBe('state_invalid');
      noSession(res);
    });

    it('a callback from a browser that did not start the flow (login CSRF)', async () => {
      const cb = await startSignIn(world, 'google');
      const res = await request(world.app).get(cb.path); // no __Host-tm_oauth cookie
      expect(res.status).toBe(400);
      expect(res.body.reason).toBe('state_invalid');
      noSession(res);
    });

    it('a replayed callback (same code and state, even with the cookie)', async () => {
      const cb = await startSignIn(world, 'google');
      const first = await request(world.app).get(cb.path).set('Cookie', cb.oauthCookie);
      expect(first.status).toBe(303);
      const replay = await request(world.app).get(cb.path).set('Cookie', cb.oauthCookie);
      expect(replay.status).toBe(400);
      expect(replay.body.reason).toBe('state_invalid');
      noSession(replay);
    });

    it('a state issued for one provider used at another', async () => {
      const cb = await startSignIn(world, 'google');
      const res = await request(world.app)
        .get(cb.path.replace('/auth/google/', '/auth/okta/'))
        .set('Cookie', cb.oauthCookie);
      expect(res.status).toBe(400);
      noSession(res);
    });

    it('a provider error (the user declined)', async () => {
      const cb = await startSignIn(world, 'google');
      const state = new URL(cb.path, 'http://x').searchParams.get('state');
      const res = await request(world.app)
        .get(`/auth/google/callback?error=access_denied&state=${state}`)
        .set('Cookie', cb.oauthCookie);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'sign_in_failed', reason: 'provider_error' });
      noSession(res);
    });

    it('a code the provider refuses at the token endpoint', async () => {
      const cb = await startSignIn(world, 'google');
      world.provider.failNextTokenRequest('invalid_grant');
      const res = await request(world.app).get(cb.path).set('Cookie', cb.oauthCookie);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'sign_in_failed', reason: 'code_rejected' });
      noSession(res);
    });
  });
});
