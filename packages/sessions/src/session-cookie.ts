import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '@tenantmesh/config';
import { serialize } from 'cookie';

/** `__Host-`: the browser refuses it unless Secure, Path=/ and no Domain — no subdomain can plant it. */
export const SESSION_COOKIE = '__Host-tm_session';
/** Longer values are not ours: refuse before doing any crypto. */
export const MAX_COOKIE_VALUE_LENGTH = 512;

const VERSION = 'v1';
const SID = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url
const KID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/; // HMAC-SHA256, base64url

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

function mac(ring: KeyRing, kid: string, sid: string): Buffer | undefined {
  const key = ring.find(kid);
  return key ? createHmac('sha256', key.key).update(`${VERSION}.${kid}.${sid}`).digest() : undefined;
}

/** `v1.<kid>.<sid>.<hmac>`, signed with the ring's current signing key. */
export function signSessionId(ring: KeyRing, sid: string): string {
  const { kid } = ring.signingKey();
  return `${VERSION}.${kid}.${sid}.${mac(ring, kid, sid)!.toString('base64url')}`;
}

export interface VerifiedCookie {
  sid: string;
  /** Signed with a key that is no longer the signer: re-sign it on this response. */
  stale: boolean;
}

/** Verifies a cookie value against every key in the ring; anything wrong is simply "no session". */
export function verifySessionCookie(ring: KeyRing, value: string): VerifiedCookie | undefined {
  if (value.length > MAX_COOKIE_VALUE_LENGTH) return undefined;
  const parts = value.split('.');
  if (parts.length !== 4) return undefined;
  const [version, kid, sid, sig] = parts as [string, string, string, string];
  if (version !== VERSION || !KID.test(kid) || !SID.test(sid) || !MAC.test(sig)) return undefined;
  const expected = mac(ring, kid, sid);
  const given = Buffer.from(sig, 'base64url');
  if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { sid, stale: ring.signingKey().kid !== kid };
}

/**
 * The values of every cookie called `name` in a Cookie header. More than one means someone
 * planted a second cookie (e.g. from a sibling subdomain before __Host- existed): callers treat
 * that as signed out rather than guess which one is real.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

export interface CookieOptions {
  /** Seconds; omit for a browser-session cookie. */
  maxAge?: number;
}

/** Set-Cookie for the session: HttpOnly, Secure, SameSite=Lax, Path=/ — never readable by scripts. */
export function sessionSetCookie(value: string, options: CookieOptions = {}): string {
  return serialize(SESSION_COOKIE, value, {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
  });
}

/** Set-Cookie that removes the session cookie. */
export function clearSessionCookie(): string {
  return serialize(SESSION_COOKIE, '', {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    maxAge: 0,
    expires: new Date(0),
  });
}
