import { errors } from '@tenantmesh/http-kit';
import type { Request, RequestHandler, Response } from 'express';
import { USER_TOKEN_HEADER } from './constants';
import type { TokenKeys } from './token-keys';
import { verifyUserToken } from './verify-user-token';

export interface RequireUserOptions {
  /** This service's name. */
  readonly audience: string;
  readonly trustedIssuers: readonly string[];
  readonly keys: Pick<TokenKeys, 'verifying'>;
  readonly clockToleranceSeconds?: number;
}

/**
 * Express middleware: verifies X-User-Token and puts the uid — and nothing else from the token
 * or the request — in `res.locals.uid`. Read it with `userIdOf(res)`. Failures go to `next(err)`
 * as AppError 401 `token_invalid` with a `reason`.
 */
export function requireUser(options: RequireUserOptions): RequestHandler {
  // A trusted issuer without a ring would refuse every token from it at runtime; fail at boot.
  for (const issuer of options.trustedIssuers) {
    if (!options.keys.verifying.has(issuer)) {
      throw new Error(
        `requireUser(${options.audience}): trusts "${issuer}" but has no key ring for ${issuer}→${options.audience}`,
      );
    }
  }
  return (req, res, next) => {
    let uid: string;
    try {
      uid = verifyUserToken(readTokenHeader(req), options).uid;
    } catch (error) {
      next(error);
      return;
    }
    res.locals.uid = uid;
    next();
  };
}

/** The verified uid of this request; throws if requireUser did not run (a wiring bug, so a 500). */
export function userIdOf(res: Pick<Response, 'locals'>): string {
  const uid: unknown = res.locals.uid;
  if (typeof uid !== 'string') {
    throw new Error('no verified user on this request: mount requireUser() before this handler');
  }
  return uid;
}

function readTokenHeader(req: Request): string {
  // headersDistinct keeps every occurrence apart, where req.headers would join them with ", ".
  const values = req.headersDistinct[USER_TOKEN_HEADER] ?? [];
  if (values.length > 1) throw errors.tokenInvalid('duplicated', 'send exactly one X-User-Token header');
  const value = values[0]?.trim() ?? '';
  if (value === '') throw errors.tokenInvalid('missing', 'X-User-Token header is required');
  // A JWT never holds a comma: this is two tokens joined by a proxy in front of us.
  if (value.includes(',')) throw errors.tokenInvalid('duplicated', 'send exactly one X-User-Token header');
  return value;
}
