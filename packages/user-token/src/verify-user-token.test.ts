import { createHmac, KeyObject, randomUUID } from 'node:crypto';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import { AppError } from '@tenantmesh/http-kit';
import jwt from 'jsonwebtoken';
import { mintUserToken } from './mint-user-token';
import type { TokenKeys } from './token-keys';
import { verifyUserToken } from './verify-user-token';

const content = JSON.stringify({ keys: [{ kid: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] });
const ring = new KeyRing(
  'token_keys_gateway_files',
  '/in-memory',
  parseKeyRing('token_keys_gateway_files', '/in-memory', content),
);
const keys: TokenKeys = { signing: new Map(), verifying: new Map([['gateway', ring]]) };
const options = { audience: 'files', trustedIssuers: ['gateway'], keys };
const uid = randomUUID();

const b64 = (value: string) => Buffer.from(value).toString('base64url');
/** Signs arbitrary header and payload TEXT with the real key, so only their content is wrong. */
const signRaw = (header: string, payload: string) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', ring.find('k1')!.key).update(input).digest('base64url')}`;
};

/** A payload that would verify, so each test can break exactly one other thing. */
function validPayloadJson(): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({ iss: 'gateway', sub: uid, aud: 'files', iat: now, exp: now + 60, jti: 'j' });
}

describe('verifyUserToken', () => {
  it('returns the uid, issuer and jti of a valid token', () => {
    const token = mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring });
    expect(verifyUserToken(token, options)).toEqual({ uid, issuer: 'gateway', jti: expect.any(String) });
  });

  it('hands jsonwebtoken the KeyObject and pins HS256', () => {
    // A string or Buffer key costs ~350 µs per request here (a failed PEM parse); a KeyObject ~20 µs.
    const verify = jest.spyOn(jwt, 'verify');
    try {
      verifyUserToken(mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring }), options);
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify.mock.calls[0]?.[1]).toBeInstanceOf(KeyObject);
      expect(verify.mock.calls[0]?.[2]).toMatchObject({ algorithms: ['HS256'] });
    } finally {
      verify.mockRestore();
    }
  });

  it('allows clock drift up to the tolerance and no more', () => {
    const token = mintUserToken({
      issuer: 'gateway',
      audience: 'files',
      uid,
      ring,
      now: new Date('2026-01-01T00:00:00Z'),
    });
    const at = (iso: string) => () => verifyUserToken(token, { ...options, now: new Date(iso) });
    expect(at('2025-12-31T23:59:56Z')).not.toThrow(); // iat 4 s ahead of our clock
    expect(at('2025-12-31T23:59:50Z')).toThrow(
      expect.objectContaining({ extra: { reason: 'not_yet_valid' } }),
    );
    expect(at('2026-01-01T00:01:04Z')).not.toThrow(); // exp passed 4 s ago
    expect(at('2026-01-01T00:01:10Z')).toThrow(expect.objectContaining({ extra: { reason: 'expired' } }));
  });

  it('calls a token whose header or payload is not a JSON object malformed, even when signed', () => {
    const good = validPayloadJson();
    const reasonOf = (token: string) => {
      try {
        verifyUserToken(token, options);
      } catch (error) {
        return (error as AppError).extra.reason;
      }
      return 'accepted';
    };
    expect(reasonOf(signRaw('{"alg":"HS256","kid":"k1"}', '"a string"'))).toBe('malformed');
    expect(reasonOf(signRaw('{"alg":"HS256","typ":"JWT","kid":"k1"}', '[1,2]'))).toBe('malformed');
    expect(reasonOf(signRaw('["HS256"]', good))).toBe('malformed');
    expect(reasonOf(signRaw('{"alg":"HS256","typ":"JWT","kid":"k1"}', '{not json'))).toBe('malformed');
  });

  it('turns any malformed input into a 401 token_invalid, never another kind of error', () => {
    const good = validPayloadJson();
    const hs = '{"alg":"HS256","typ":"JWT","kid":"k1"}';
    const inputs: unknown[] = [
      '',
      '.',
      '..',
      'a.b.c',
      'a.b.c.d',
      '\u0000.\u0000.\u0000',
      'é'.repeat(5000),
      undefined,
      42,
      signRaw('null', good),
      signRaw('"HS256"', good),
      signRaw('[1]', good),
      signRaw(hs, '{not json'), // jws JSON.parses typ:JWT payloads and throws on bad JSON
      signRaw(hs, '[1,2]'),
      signRaw(hs, '"a string"'),
      signRaw(hs, 'null'),
      signRaw('{"alg":"HS256","kid":{"toString":1}}', good),
      signRaw('{"alg":"HS256","typ":"JWT","kid":"__proto__"}', good),
      signRaw(hs, good.replace('"iss":"gateway"', '"iss":{"0":"gateway"}')),
      signRaw(hs, good.replace('"iss":"gateway"', '"iss":"__proto__"')),
      signRaw(hs, good.replace(/"exp":\d+/, '"exp":"soon"')),
      signRaw(hs, good.replace(/"iat":\d+/, '"iat":null')),
      signRaw(hs, good.replace(/"exp":\d+/, '"exp":1e400')),
      signRaw(hs, good.replace('"jti":"j"', '"jti":7')),
      signRaw(hs, good.replace('"aud":"files"', '"aud":{"files":true}')),
      signRaw(hs, `${good.slice(0, -1)},"nbf":"later"}`),
    ];
    for (const input of inputs) {
      let thrown: unknown;
      try {
        verifyUserToken(input as string, options);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ status: 401, code: 'token_invalid' });
    }
  });
});
