import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { OneTimeStore } from '@tenantmesh/sessions';
import { cookieValues } from '@tenantmesh/sessions';
import { serialize } from 'cookie';
import type { Request } from 'express';

/** Short-lived, HttpOnly: ties the OAuth round trip to the browser that started it (login CSRF). */
export const OAUTH_COOKIE = '__Host-tm_oauth';
const STATE_TTL_MS = 10 * 60 * 1000;

interface StoredState {
  provider: string;
  nonceHash: string;
  /** PKCE code verifier (passport-oauth2). */
  verifier?: string;
  /** Context passport-openidconnect needs back (nonce, maxAge, issued). */
  ctx?: { nonce?: string; maxAge?: number; issued?: string };
}

type Done = (err: Error | null, ok?: unknown, state?: unknown) => void;
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

/**
 * OAuth `state`, kept server-side and usable once. `store` makes a random state and a random
 * browser nonce (cookie); `verify` takes the state (a replay finds nothing), then requires the
 * same browser and provider. Two adapters, because passport-oauth2 (Google, with PKCE) and
 * passport-openidconnect call their stores with different arities.
 */
export class OAuthStateStore {
  constructor(
    private readonly once: OneTimeStore,
    private readonly provider: string,
  ) {}

  private async save(req: Request, extra: Pick<StoredState, 'verifier' | 'ctx'>): Promise<string> {
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const stored: StoredState = { provider: this.provider, nonceHash: sha256(nonce), ...extra };
    await this.once.put(`oauth:${state}`, JSON.stringify(stored), STATE_TTL_MS);
    req.res?.append(
      'Set-Cookie',
      serialize(OAUTH_COOKIE, nonce, {
        httpOnly: true,
        secure: true,
        sameSite: 'lax',
        path: '/',
        maxAge: STATE_TTL_MS / 1000,
      }),
    );
    return state;
  }

  /** The stored state if it exists, was never used, is this provider's, and this browser started it. */
  private async take(req: Request, state: unknown): Promise<StoredState | undefined> {
    if (typeof state !== 'string' || state.length === 0 || state.length > 128) return undefined;
    const raw = await this.once.take(`oauth:${state}`);
    if (!raw) return undefined;
    const stored = JSON.parse(raw) as StoredState;
    const nonces = cookieValues(req.headers.cookie, OAUTH_COOKIE);
    if (nonces.length !== 1 || stored.provider !== this.provider) return undefined;
    const given = Buffer.from(sha256(nonces[0]!), 'hex');
    const expected = Buffer.from(stored.nonceHash, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? stored : undefined;
  }

  /** For passport-oauth2: store(req, verifier, state, meta, cb) / verify(req, state, meta, cb). */
  forOAuth2() {
    return {
      store: (req: Request, verifier: string, _state: unknown, _meta: unknown, cb: Done) => {
        this.save(req, { verifier }).then((s) => cb(null, s), cb);
      },
      verify: (req: Request, state: unknown, _meta: unknown, cb: Done) => {
        this.take(req, state).then(
          (stored) =>
            stored?.verifier ? cb(null, stored.verifier) : cb(null, false, { message: 'state_invalid' }),
          cb,
        );
      },
    };
  }

  /** For passport-openidconnect: store(req, ctx, appState, meta, cb) / verify(req, handle, cb). */
  forOpenIdConnect() {
    return {
      store: (
        req: Request,
        ctx: { nonce?: string; maxAge?: number; issued?: Date },
        _appState: unknown,
        _meta: unknown,
        cb: Done,
      ) => {
        const saved: StoredState['ctx'] = {
          nonce: ctx.nonce,
          maxAge: ctx.maxAge,
          issued: ctx.issued?.toISOString(),
        };
        this.save(req, { ctx: saved }).then((s) => cb(null, s), cb);
      },
      verify: (req: Request, handle: unknown, cb: Done) => {
        this.take(req, handle).then((stored) => {
          if (!stored?.ctx) return cb(null, false, { message: 'state_invalid' });
          const { nonce, maxAge, issued } = stored.ctx;
          return cb(null, { nonce, maxAge, issued: issued ? new Date(issued) : undefined });
        }, cb);
      },
    };
  }
}

/** Set-Cookie that removes the OAuth browser nonce once the round trip is over. */
export function clearOAuthCookie(): string {
  return serialize(OAUTH_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 0 });
}
