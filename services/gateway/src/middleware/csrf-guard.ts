import { AppError } from '@tenantmesh/http-kit';
import type { RequestHandler } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request a browser sent on behalf of another site. The session cookie is
 * SameSite=Lax, which already keeps it off cross-site POSTs from modern browsers; this check does
 * not depend on that. `Origin`, when present, must be ours. Without it, `Sec-Fetch-Site:
 * same-origin` (set by the browser, not by scripts) will do. Neither: refused, since a client that
 * sends neither is not a browser page of ours.
 */
export function csrfGuard(publicOrigin: string): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (origin === publicOrigin) return next();
      throw rejected('the request came from another origin');
    }
    if (req.headers['sec-fetch-site'] === 'same-origin') return next();
    throw rejected('send Origin or Sec-Fetch-Site: same-origin');
  };
}

function rejected(detail: string): AppError {
  return new AppError('csrf_rejected', detail);
}
