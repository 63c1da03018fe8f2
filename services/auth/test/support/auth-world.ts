import { RedisSessionCache, SESSION_COOKIE, SessionService } from '@tenantmesh/sessions';
import {
  createSecretsDir,
  createTestDatabase,
  createTestRedis,
  freePort,
  type LocalOAuthProvider,
  type SecretsDir,
  startLocalOAuthProvider,
  type TestDatabase,
  type TestRedis,
} from '@tenantmesh/testing';
import { mintUserToken } from '@tenantmesh/user-token';
import type { Express } from 'express';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { loadAuthConfig } from '../../src/config';
import { connectAuthDeps } from '../../src/deps';

export const PUBLIC_ORIGIN = 'http://localhost:3000';

export interface AuthWorld {
  app: Express;
  provider: LocalOAuthProvider;
  testDb: TestDatabase;
  deps: Awaited<ReturnType<typeof connectAuthDeps>>;
  /** Resolves a session cookie the way the gateway does. */
  uidOf(cookie: string): Promise<string | undefined>;
  tokenFor(uid: string): string;
  close(): Promise<void>;
}

/** The auth service wired exactly as main.ts wires it, on a test database, Redis and a local provider. */
export async function startAuthWorld(): Promise<AuthWorld> {
  const provider = await startLocalOAuthProvider(await freePort());
  const testDb = await createTestDatabase();
  const redis: TestRedis = await createTestRedis();
  const secrets: SecretsDir = createSecretsDir();
  secrets.writeRing('cookie_keys');
  const [gatewayKey] = secrets.writeRing('token_keys_gateway_auth');
  secrets.writeText('google_client_secret', 'local-google-secret');
  secrets.writeText('oidc_client_secret', 'local-oidc-secret');
  const config = loadAuthConfig({
    DATABASE_URL: testDb.url,
    DATABASE_MIGRATE_ON_BOOT: 'false',
    SECRETS_DIR: secrets.dir,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'error',
    PUBLIC_ORIGIN,
    GOOGLE_CLIENT_ID: 'local-google-client',
    GOOGLE_AUTHORIZATION_URL: `${provider.url}/authorize`,
    GOOGLE_TOKEN_URL: `${provider.url}/token`,
    GOOGLE_USERINFO_URL: `${provider.url}/userinfo`,
    OIDC_PROVIDER_NAME: 'okta',
    OIDC_ISSUER: provider.url,
    OIDC_CLIENT_ID: 'local-oidc-client',
    OIDC_AUTHORIZATION_URL: `${provider.url}/authorize`,
    OIDC_TOKEN_URL: `${provider.url}/token`,
    OIDC_USERINFO_URL: `${provider.url}/userinfo`,
  });
  const deps = await connectAuthDeps(config);
  // Resolves like a gateway replica would: through the same Redis cache auth writes to.
  const sessions = new SessionService(
    deps.database.db,
    new RedisSessionCache(deps.redis!),
    config.secrets.cookieKeys,
    config.sessions,
  );
  const gatewayRing = {
    signingKey: () => ({
      kid: gatewayKey!.kid,
      key: deps.keys.verifying.get('gateway')!.find(gatewayKey!.kid)!.key,
    }),
  };
  return {
    app: buildApp(deps),
    provider,
    testDb,
    deps,
    uidOf: async (cookie) => (await sessions.resolve(cookie))?.uid,
    tokenFor: (uid) => mintUserToken({ issuer: 'gateway', audience: 'auth', uid, ring: gatewayRing }),
    close: async () => {
      await deps.close();
      await redis.close();
      await testDb.drop();
      await provider.stop();
      secrets.remove();
    },
  };
}

export function cookieNamed(setCookies: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookies) ? setCookies : setCookies ? [setCookies] : [];
  const found = list.find((c) => c.startsWith(`${name}=`) && !/Max-Age=0/.test(c));
  return found?.split(';')[0];
}

export interface Callback {
  /** The callback path and query the provider redirected the browser to. */
  path: string;
  /** The browser-binding cookie auth set when the flow started. */
  oauthCookie: string;
}

/** Starts a sign-in at auth and lets the provider redirect back: returns where the browser would go. */
export async function startSignIn(world: AuthWorld, providerName: string): Promise<Callback> {
  const start = await request(world.app).get(`/auth/${providerName}`);
  if (start.status !== 302)
    throw new Error(`expected a redirect to the provider, got ${start.status} ${start.text}`);
  const oauthCookie = cookieNamed(start.headers['set-cookie'], '__Host-tm_oauth')!;
  const atProvider = await fetch(start.headers.location!, { redirect: 'manual' });
  const back = new URL(atProvider.headers.get('location')!);
  if (back.origin !== PUBLIC_ORIGIN) throw new Error(`provider redirected to ${back.origin}`);
  return { path: back.pathname + back.search, oauthCookie };
}

/** The whole round trip; returns the session cookie ("name=value"). */
export async function signIn(world: AuthWorld, providerName = 'google'): Promise<string> {
  const cb = await startSignIn(world, providerName);
  const done = await request(world.app).get(cb.path).set('Cookie', cb.oauthCookie);
  if (done.status !== 303) throw new Error(`callback answered ${done.status}: ${done.text}`);
  return cookieNamed(done.headers['set-cookie'], SESSION_COOKIE_NAME)!;
}

export const SESSION_COOKIE_NAME = SESSION_COOKIE;
