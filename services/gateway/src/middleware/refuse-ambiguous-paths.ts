import { errors } from '@tenantmesh/http-kit';
import type { RequestHandler } from 'express';

// Empty, "." and ".." segments (also percent-encoded) and backslashes. Browsers never send them.
const AMBIGUOUS = /\/\/|\\|%5c|(^|\/)(\.|%2e){1,2}(\/|$)/i;

/**
 * The gateway decides routing and CSRF checks on the path, but the proxy library collapses "//"
 * and an upstream may resolve "..": `/auth//logout` would dodge the check on `/auth/logout` and
 * still reach it. A path that could mean two things is refused instead of guessed.
 */
export function refuseAmbiguousPaths(): RequestHandler {
  return (req, _res, next) => {
    if (AMBIGUOUS.test(req.path)) throw errors.badRequest('the path has empty, "." or ".." segments');
    next();
  };
}
