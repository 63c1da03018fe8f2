import type { IncomingHttpHeaders } from 'node:http';
import { USER_TOKEN_HEADER } from '@tenantmesh/user-token';
import type { Request, Response } from 'express';

export interface ForwardOptions {
  /** Credentials the browser sent (Cookie, Authorization) go to auth only. */
  forwardCredentials: boolean;
  /** The freshly minted X-User-Token for this hop, on authenticated routes. */
  userToken?: string;
}

// Client-supplied forwarding headers: replaced by what the gateway itself established.
const CLIENT_FORWARDING = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
];
const CREDENTIALS = ['cookie', 'authorization', 'proxy-authorization'];

/**
 * Rewrites the request headers the proxy copies upstream. Done on `req.headers` before proxying,
 * rather than in a proxyReq hook, so nothing depends on when the library flushes headers.
 */
export function setForwardHeaders(req: Request, res: Response, options: ForwardOptions): void {
  const headers: IncomingHttpHeaders = req.headers;
  // Any client-sent token is already gone (stripUserToken, on entry); this one replaces nothing.
  if (options.userToken) headers[USER_TOKEN_HEADER] = options.userToken;
  if (!options.forwardCredentials) for (const name of CREDENTIALS) delete headers[name];
  // Read before the client's forwarding headers go: req.ip and req.protocol are computed from them
  // (as far as `trust proxy` lets them), so they are the client's address and scheme as far as the
  // gateway can vouch for them, never an entry the client wrote itself.
  const { ip, protocol } = req;
  for (const name of CLIENT_FORWARDING) delete headers[name];
  if (ip) headers['x-forwarded-for'] = ip;
  headers['x-forwarded-proto'] = protocol;
  if (headers.host) headers['x-forwarded-host'] = headers.host;
  // The same id in every service's logs (http-kit's requestId kept a well-formed inbound one).
  const requestId: unknown = res.locals.requestId;
  if (typeof requestId === 'string') headers['x-request-id'] = requestId;
}
