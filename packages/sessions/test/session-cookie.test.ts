import { randomBytes } from 'node:crypto';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import {
  clearSessionCookie,
  cookieValues,
  newSessionId,
  SESSION_COOKIE,
  sessionSetCookie,
  signSessionId,
  verifySessionCookie,
} from '../src';

const entry = (kid: string) => ({ kid, key: randomBytes(32).toString('base64') });
const ringOf = (...entries: { kid: string; key: string }[]) =>
  new KeyRing(
    'cookie_keys',
    '/dev/null',
    parseKeyRing('cookie_keys', '/dev/null', JSON.stringify({ keys: entries })),
  );

describe('the session cookie', () => {
  const k1 = entry('k1');
  const k2 = entry('k2');

  it('verifies what it signed, naming the session id', () => {
    const ring = ringOf(k1);
    const sid = newSessionId();
    expect(verifySessionCookie(ring, signSessionId(ring, sid))).toEqual({ sid, stale: false });
  });

  it.each([
    [
      'a changed session id',
      (v: string) => v.replace(/^(v1\.k1\.)./, (m, p) => p + (m.endsWith('A') ? 'B' : 'A')),
    ],
    ['a changed signature', (v: string) => v.slice(0, -2) + (v.endsWith('AA') ? 'BB' : 'AA')],
    ['a truncated value', (v: string) => v.slice(0, -5)],
    ['an unknown key id', (v: string) => v.replace('.k1.', '.k9.')],
    ['another version', (v: string) => v.replace(/^v1/, 'v2')],
    ['an oversized value', (v: string) => v + 'x'.repeat(600)],
    ['an empty value', () => ''],
    ['garbage', () => '%00;\u0000'],
  ])('refuses %s', (_what, mutate) => {
    const ring = ringOf(k1);
    expect(verifySessionCookie(ring, mutate(signSessionId(ring, newSessionId())))).toBeUndefined();
  });

  it('accepts a cookie signed with an older key still in the ring, and says to re-sign it', () => {
    const sid = newSessionId();
    const old = signSessionId(ringOf(k1), sid);
    expect(verifySessionCookie(ringOf(k1, k2), old)).toEqual({ sid, stale: true });
  });

  it('refuses a cookie signed with a key dropped from the ring', () => {
    const old = signSessionId(ringOf(k1), newSessionId());
    expect(verifySessionCookie(ringOf(k2), old)).toBeUndefined();
  });

  it('is HttpOnly, Secure, SameSite=Lax, Path=/ under the __Host- prefix', () => {
    const header = sessionSetCookie('v', { maxAge: 60 });
    expect(header.startsWith(`${SESSION_COOKIE}=v;`)).toBe(true);
    expect(SESSION_COOKIE.startsWith('__Host-')).toBe(true);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/', 'Max-Age=60'])
      expect(header).toContain(attr);
    expect(header).not.toMatch(/Domain=/i);
    expect(clearSessionCookie()).toMatch(/Max-Age=0/);
  });

  it('finds every cookie of a name, so a duplicate can be refused', () => {
    expect(cookieValues(`a=1; ${SESSION_COOKIE}=x; b=2; ${SESSION_COOKIE}=y`, SESSION_COOKIE)).toEqual([
      'x',
      'y',
    ]);
    expect(cookieValues(undefined, SESSION_COOKIE)).toEqual([]);
    expect(cookieValues(`${SESSION_COOKIE}="q"`, SESSION_COOKIE)).toEqual(['q']);
  });
});
