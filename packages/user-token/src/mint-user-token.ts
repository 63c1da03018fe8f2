import { randomUUID } from 'node:crypto';
import type { KeyRing } from '@tenantmesh/config';
import jwt from 'jsonwebtoken';
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS } from './constants';
import { assertServiceName, isUid } from './identifiers';

export interface MintUserTokenOptions {
  /** This service's name. */
  readonly issuer: string;
  /** The ONE service the token is for; the ring must be the issuer→audience ring. */
  readonly audience: string;
  readonly uid: string;
  readonly ring: Pick<KeyRing, 'signingKey'>;
  readonly ttlSeconds?: number;
  /** For tests and staged keys: the instant the token is minted at. */
  readonly now?: Date;
}

/**
 * Mints the X-User-Token value for one hop. Bad arguments throw (a caller bug, not a client
 * error): in particular a ttl over MAX_TOKEN_TTL_SECONDS, which verifiers would refuse anyway.
 */
export function mintUserToken(options: MintUserTokenOptions): string {
  const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
    throw new RangeError(
      `user token ttl must be whole seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}, got ${ttl}`,
    );
  }
  assertServiceName(options.issuer, 'issuer');
  assertServiceName(options.audience, 'audience');
  if (!isUid(options.uid)) throw new TypeError('uid must be a lowercase UUID');

  const now = options.now ?? new Date();
  const { kid, key } = options.ring.signingKey(now);
  const iat = Math.floor(now.getTime() / 1000);
  const claims = {
    iss: options.issuer,
    sub: options.uid,
    aud: options.audience,
    iat,
    exp: iat + ttl,
    jti: randomUUID(),
  };
  // The KeyObject, never a string: jsonwebtoken tries to parse a string secret as a PEM key
  // first, which costs ~50x the signature itself on every request.
  return jwt.sign(claims, key, { algorithm: 'HS256', keyid: kid });
}
