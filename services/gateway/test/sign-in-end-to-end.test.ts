import path from 'node:path';
import {
  createSecretsDir,
  createTestDatabase,
  createTestRedis,
  freePort,
  type LocalOAuthProvider,
  type SecretsDir,
  type ServiceProcess,
  startLocalOAuthProvider,
  startServiceProcess,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';

/**
 * The whole sign-in story across real processes: gateway, auth and notes from their built
 * main.js, a local OAuth provider, one database and Redis. The browser is played by fetch with a
 * hand-kept cookie jar (the cookies are Secure; a browser would accept them on localhost too).
 */
const mainOf = (service: string) => path.join(__dirname, '..', '..', service, 'dist', 'main.js');

class Browser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly origin: string) {}

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    if (init.method && init.method !== 'GET') headers.set('origin', this.origin);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** /auth/google → provider → callback, following redirects like a browser. */
  async signIn(): Promise<Response> {
    let res = await this.go(`${this.origin}/auth/google`);
    for (let hop = 0; hop < 5 && res.status >= 300 && res.status < 400; hop++) {
      const next = new URL(res.headers.get('location')!, this.origin).toString();
      if (next === `${this.origin}/`) return res;
      res = await this.go(next);
    }
    return res;
  }

  has(cookie: string): boolean {
    return this.jar.has(cookie);
  }
}

describe('sign-in end to end, through the gateway', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let secrets: SecretsDir;
  let provider: LocalOAuthProvider;
  const processes: ServiceProcess[] = [];
  let origin: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    secrets = createSecretsDir();
    for (const ring of ['cookie_keys', 'token_keys_gateway_auth', 'token_keys_gateway_notes'])
      secrets.writeRing(ring);
    secrets.writeText('google_client_secret', 'local-secret');
    provider = await startLocalOAuthProvider(await freePort());
    const [gatewayPort, authPort, notesPort] = [await freePort(), await freePort(), await freePort()];
    origin = `http://127.0.0.1:${gatewayPort}`;
    const common = {
      DATABASE_URL: db.url,
      DATABASE_MIGRATE_ON_BOOT: 'false',
      SECRETS_DIR: secrets.dir,
      REDIS_URL: redis.url,
      PUBLIC_ORIGIN: origin,
    };
    const auth = startServiceProcess(mainOf('auth'), {
      ...common,
      PORT: String(authPort),
      GOOGLE_CLIENT_ID: 'tenantmesh-test',
      GOOGLE_AUTHORIZATION_URL: `${provider.url}/authorize`,
      GOOGLE_TOKEN_URL: `${provider.url}/token`,
      GOOGLE_USERINFO_URL: `${provider.url}/userinfo`,
    });
    const notes = startServiceProcess(mainOf('notes'), { ...common, PORT: String(notesPort) });
    const gateway = startServiceProcess(mainOf('gateway'), {
      ...common,
      PORT: String(gatewayPort),
      AUTH_URL: `http://127.0.0.1:${authPort}`,
      NOTES_URL: `http://127.0.0.1:${notesPort}`,
    });
    processes.push(auth, notes, gateway);
    await Promise.all([auth.ready(authPort), notes.ready(notesPort), gateway.ready(gatewayPort)]);
  }, 60_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await provider.stop();
    await redis.close();
    await db.drop();
    secrets.remove();
  });

  it('signs in with the provider, then /api/me returns the user; logout makes the API refuse', async () => {
    provider.signInAs({ sub: 'e2e-alice', email: 'alice@example.com', name: 'Alice' });
    const alice = new Browser(origin);
    const landed = await alice.signIn();
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/');
    expect(alice.has('__Host-tm_session')).toBe(true);

    const me = await alice.go(`${origin}/api/me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      provider: 'google',
      email: 'alice@example.com',
      displayName: 'Alice',
    });

    const created = await alice.go(`${origin}/api/notes/notebooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Alice’s' }),
    });
    expect(created.status).toBe(201);

    const out = await alice.go(`${origin}/auth/logout`, { method: 'POST' });
    expect(out.status).toBe(204);
    expect((await alice.go(`${origin}/api/me`)).status).toBe(401);
  });

  it('another user, signed in in another browser, sees none of the first user’s notebooks', async () => {
    provider.signInAs({ sub: 'e2e-bob', email: 'bob@example.com', name: 'Bob' });
    const bob = new Browser(origin);
    await bob.signIn();
    const list = await bob.go(`${origin}/api/notes/notebooks`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { notebooks: unknown[] }).notebooks).toEqual([]);
  });

  it('a sign-in that the provider refuses leaves no session', async () => {
    const eve = new Browser(origin);
    const start = await eve.go(`${origin}/auth/google`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state');
    const res = await eve.go(`${origin}/auth/google/callback?error=access_denied&state=${state}`);
    expect(res.status).toBe(400);
    expect(eve.has('__Host-tm_session')).toBe(false);
    expect((await eve.go(`${origin}/api/me`)).status).toBe(401);
  });
});
