import { randomUUID } from 'node:crypto';
import { runWithRequestContext } from '@tenantmesh/observability';
import type { RequestHandler } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Takes the caller's X-Request-Id when it is a plain token (so one id follows a request through
 * the gateway and every service), else makes one; echoes it and puts it in the log context.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const inbound = req.get('x-request-id');
    const id = inbound && SAFE_ID.test(inbound) ? inbound : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    runWithRequestContext({ requestId: id }, () => next());
  };
}
