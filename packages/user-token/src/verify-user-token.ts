import { AppError, errors, type TokenFailure } from '@tenantmesh/http-kit';
import jwt from 'jsonwebtoken';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, MAX_TOKEN_HEADER_BYTES, MAX_TOKEN_TTL_SECONDS } from './constants';
import { isUid } from './identifiers';
import type { TokenKeys } from './token-keys';

export interface VerifyUserTokenOptions {
  /** This service's name: the token's `aud` must be exactly this string. */
  readonly audience: string;
  readonly trustedIssuers: readonly string[];
  readonly keys: Pick<TokenKeys, 'verifying'>;
  readonly now?: Date;
  readonly clockToleranceSeconds?: number;
}

export interface VerifiedUser {
  readonly uid: string;
  readonly issuer: string;
  readonly jti: string;
}

type Claims = Record<string, unknown>;

const reject = (reason: TokenFailure, detail: string): AppError => errors.tokenInvalid(reason, detail);

/**
 * Verifies an X-User-Token value. Every refusal is an AppError 401 `token_invalid` with a stable
 * `reason`; no input, however broken, may surface as a 500. Details never echo token content:
 * they end up in responses and logs.
 */
export function verifyUserToken(token: string, options: VerifyUserTokenOptions): VerifiedUser {
  try {
    return verifyOrThrow(token, options);
  } catch (error) {
    if (error instanceof AppError) throw error;
    // A library choked on input nobody foresaw: still the client's token at fault, not our 500.
    throw reject('malformed', 'token could not be read');
  }
}

function verifyOrThrow(token: string, options: VerifyUserTokenOptions): VerifiedUser {
  if (typeof token !== 'string') throw reject('malformed', 'token is not a string');
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_HEADER_BYTES) {
    throw reject('too_large', `token is over ${MAX_TOKEN_HEADER_BYTES} bytes`);
  }

  // Read without trusting: the header only tells us which key to try, and may lie.
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || !isRecord(decoded.header) || !isRecord(decoded.payload)) {
    throw reject('malformed', 'token is not a JWT');
  }
  const header: Claims = decoded.header;
  const claims: Claims = decoded.payload;

  // Pinned before any key is touched: `none`, other HMAC sizes and public-key algorithms are
  // the classic ways to make a verifier accept a token it did not mean to.
  if (header.alg !== 'HS256') throw reject('bad_algorithm', 'only HS256 tokens are accepted');

  const issuer = claims.iss;
  if (typeof issuer !== 'string' || !options.trustedIssuers.includes(issuer)) {
    throw reject('untrusted_issuer', 'token issuer is not trusted here');
  }
  const ring = options.keys.verifying.get(issuer);
  if (!ring) throw reject('untrusted_issuer', 'no key ring for this token issuer');

  // A missing kid is 'malformed', not 'unknown_key': every token we mint carries one, so its
  // absence says the token was not made by us rather than that our ring is out of date.
  if (typeof header.kid !== 'string') throw reject('malformed', 'token header has no key id');
  const key = ring.find(header.kid);
  if (!key) throw reject('unknown_key', 'token key id is not in the key ring');

  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  try {
    jwt.verify(token, key.key, {
      algorithms: ['HS256'],
      audience: options.audience,
      clockTimestamp: nowSeconds,
      clockTolerance: tolerance,
    });
  } catch (error) {
    throw reject(...failureOf(error));
  }

  // jsonwebtoken accepts an `aud` array that merely contains us; a token must name ONE target,
  // or one token could be replayed at every service listed in it.
  if (typeof claims.aud !== 'string' || claims.aud !== options.audience) {
    throw reject('wrong_audience', 'token is not addressed to this service');
  }
  const iat = requireTime(claims, 'iat');
  const exp = requireTime(claims, 'exp');
  if (exp - iat > MAX_TOKEN_TTL_SECONDS) {
    throw reject('lifetime_too_long', `token lifetime is over ${MAX_TOKEN_TTL_SECONDS} seconds`);
  }
  // jsonwebtoken ignores iat; a future iat would stretch the lifetime check above.
  if (iat > nowSeconds + tolerance) throw reject('not_yet_valid', 'token is issued in the future');
  // Missing or not canonical: either way there is no user id we could scope queries by.
  if (!isUid(claims.sub)) throw reject('bad_subject', 'token subject is not a user id');
  if (typeof claims.jti !== 'string' || claims.jti === '') throw reject('missing_claim', 'token has no jti');

  return { uid: claims.sub, issuer, jti: claims.jti };
}

function requireTime(claims: Claims, name: 'iat' | 'exp'): number {
  const value = claims[name];
  if (value === undefined) throw reject('missing_claim', `token has no ${name}`);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw reject('malformed', `token ${name} is not a number`);
  }
  return value;
}

/** Maps jsonwebtoken's errors to our reasons; anything unrecognised is 'malformed'. */
function failureOf(error: unknown): [TokenFailure, string] {
  // The subclasses first: both extend JsonWebTokenError.
  if (error instanceof jwt.TokenExpiredError) return ['expired', 'token has expired'];
  if (error instanceof jwt.NotBeforeError) return ['not_yet_valid', 'token is not valid yet'];
  if (error instanceof jwt.JsonWebTokenError) {
    const message = error.message;
    if (message === 'invalid signature' || message === 'jwt signature is required') {
      return ['bad_signature', 'token signature does not match'];
    }
    if (message.startsWith('jwt audience invalid')) {
      return ['wrong_audience', 'token is not addressed to this service'];
    }
    if (message === 'invalid algorithm') return ['bad_algorithm', 'only HS256 tokens are accepted'];
  }
  return ['malformed', 'token could not be verified'];
}

function isRecord(value: unknown): value is Claims {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
