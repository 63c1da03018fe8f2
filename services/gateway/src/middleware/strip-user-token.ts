import { USER_TOKEN_HEADER } from '@tenantmesh/user-token';
import type { RequestHandler } from 'express';

/**
 * Deletes every X-User-Token a client sent, on every route: only the gateway mints them. Node
 * lower-cases header names and joins repeated ones into one entry of `req.headers`, which is what
 * the proxy forwards, so one delete removes every case and every copy.
 */
export function stripUserToken(): RequestHandler {
  return (req, _res, next) => {
    delete req.headers[USER_TOKEN_HEADER];
    next();
  };
}
