import { errors } from '@tenantmesh/http-kit';
import type { Logger } from '@tenantmesh/observability';
import type { SessionService } from '@tenantmesh/sessions';
import type { RequestHandler, Response } from 'express';

export type SessionResolver = Pick<SessionService, 'resolve'>;

/**
 * Resolves the session cookie to a uid, or answers 401 `unauthenticated`. Anything wrong with the
 * cookie (tampered, truncated, oversized, duplicated, signed with a dropped key, revoked, expired)
 * resolves to nothing, so it is a 401 too. A store that does not answer is a 503, not a 500.
 */
export function requireSession(sessions: SessionResolver, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    let session: Awaited<ReturnType<SessionResolver['resolve']>>;
    try {
      session = await sessions.resolve(req.headers.cookie);
    } catch (error) {
      logger.error('session lookup failed', { err: error });
      throw errors.serviceUnavailable('sessions are unavailable, try again');
    }
    if (!session) throw errors.unauthenticated();
    // The cookie was signed with a key that no longer signs: hand the browser a re-signed one.
    if (session.setCookie) res.append('Set-Cookie', session.setCookie);
    res.locals.uid = session.uid;
    next();
  };
}

/** The uid requireSession resolved; throws if it did not run (a wiring bug, so a 500). */
export function sessionUidOf(res: Pick<Response, 'locals'>): string {
  const uid: unknown = res.locals.uid;
  if (typeof uid !== 'string') throw new Error('no session on this request: mount requireSession() first');
  return uid;
}
