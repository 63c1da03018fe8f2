import { KeyObject, randomUUID } from 'node:crypto';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import jwt from 'jsonwebtoken';
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS } from './constants';
import { mintUserToken } from './mint-user-token';

function ringOf(kids: string[]): KeyRing {
  const keys = kids.map((kid) => ({ kid, key: Buffer.alloc(32, kid).toString('base64') }));
  const content = JSON.stringify({ keys });
  return new KeyRing(
    'token_keys_gateway_files',
    '/in-memory',
    parseKeyRing('token_keys_gateway_files', '/in-memory', content),
  );
}

describe('mintUserToken', () => {
  const ring = ringOf(['k1', 'k2']);
  const uid = randomUUID();
  const mint = (extra: { ttlSeconds?: number; uid?: string; now?: Date } = {}) =>
    mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring, ...extra });

  it('mints an HS256 JWT naming its key, issuer, subject, one audience and a random jti', () => {
    const token = mint();
    const decoded = jwt.decode(token, { complete: true });
    expect(decoded?.header).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k2' });
    expect(decoded?.payload).toEqual({
      iss: 'gateway',
      sub: uid,
      aud: 'files',
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const jtiOf = (token: string) => (jwt.decode(token) as jwt.JwtPayload).jti;
    expect(jtiOf(mint())).not.toBe(jtiOf(mint()));
  });

  it('signs with the ring’s current signing key', () => {
    const token = mint();
    expect(() => jwt.verify(token, ring.find('k2')!.key, { algorithms: ['HS256'] })).not.toThrow();
    expect(() => jwt.verify(token, ring.find('k1')!.key, { algorithms: ['HS256'] })).toThrow(
      'invalid signature',
    );
  });

  it('hands jsonwebtoken the KeyObject, never key bytes it would first try to parse as PEM', () => {
    // A string or Buffer secret costs ~350 µs per token here (a failed PEM parse); a KeyObject ~20 µs.
    const sign = jest.spyOn(jwt, 'sign');
    try {
      mint();
      expect(sign).toHaveBeenCalledTimes(1);
      expect(sign.mock.calls[0]?.[1]).toBeInstanceOf(KeyObject);
    } finally {
      sign.mockRestore();
    }
  });

  it(`expires tokens after ${DEFAULT_TOKEN_TTL_SECONDS} seconds by default`, () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(jwt.decode(mint({ now }))).toMatchObject({
      iat: 1767225600,
      exp: 1767225600 + DEFAULT_TOKEN_TTL_SECONDS,
    });
  });

  it(`refuses to mint a token living longer than ${MAX_TOKEN_TTL_SECONDS} seconds`, () => {
    expect(() => mint({ ttlSeconds: MAX_TOKEN_TTL_SECONDS + 1 })).toThrow(RangeError);
    const longest = jwt.decode(mint({ ttlSeconds: MAX_TOKEN_TTL_SECONDS })) as jwt.JwtPayload;
    expect(longest.exp! - longest.iat!).toBe(MAX_TOKEN_TTL_SECONDS);
  });

  it('refuses a ttl that is not a positive whole number of seconds', () => {
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => mint({ ttlSeconds })).toThrow(RangeError);
    }
  });

  it('refuses to mint for a uid that is not a lowercase UUID', () => {
    expect(() => mint({ uid: 'alice' })).toThrow(TypeError);
    expect(() => mint({ uid: uid.toUpperCase() })).toThrow(TypeError);
  });

  it('refuses service names that could not name a key-ring secret', () => {
    expect(() => mintUserToken({ issuer: 'gateway', audience: 'files_admin', uid, ring })).toThrow(TypeError);
    expect(() => mintUserToken({ issuer: '', audience: 'files', uid, ring })).toThrow(TypeError);
  });
});
