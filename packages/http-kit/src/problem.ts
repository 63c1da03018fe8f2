import type { Logger } from '@tenantmesh/observability';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, errors } from './errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Renders an AppError as RFC 9457 problem+json. `code` is the stable machine-readable part. */
export function sendProblem(res: Response, error: AppError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify({
        type: `urn:tenantmesh:problem:${error.code}`,
        title: error.code.replace(/_/g, ' '),
        status: error.status,
        code: error.code,
        detail: error.message,
        ...error.extra,
        ...(res.locals.requestId ? { requestId: res.locals.requestId } : {}),
      }),
    );
}

/**
 * Turns anything thrown into an AppError: ours pass through, body-parser's known failures
 * become 4xx, everything else is a 500 whose details stay in the log, never in the response.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as { type?: string; status?: number; expose?: boolean } | null;
  switch (e?.type) {
    case 'entity.parse.failed':
      return errors.malformedJson();
    case 'entity.too.large':
      return errors.payloadTooLarge();
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return errors.unsupportedMediaType('unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return errors.badRequest('the request body could not be read');
  }
  // Integrity errors from PostgreSQL are the request's fault (a reference to a row that is gone,
  // a duplicate, a value the column refuses): 4xx, never a 500.
  const pgCode = (error as { code?: unknown; severity?: unknown } | null)?.code;
  if (typeof pgCode === 'string' && (error as { severity?: unknown }).severity !== undefined) {
    if (pgCode === '23505') return errors.conflict('that already exists');
    if (pgCode === '23503') return errors.conflict('refers to something that does not exist');
    if (pgCode === '23502' || pgCode === '23514' || pgCode.startsWith('22')) {
      return errors.badRequest('a value was refused by the database');
    }
  }
  // The router's failure to decode a malformed %-escape in a path parameter.
  if (error instanceof URIError) return errors.badRequest('malformed percent-encoding in the path');
  // Other http-errors that are safe to expose.
  if (e?.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return errors.badRequest('malformed request');
  }
  return errors.internal();
}

export function notFoundHandler(): RequestHandler {
  return (_req, _res, next) => next(errors.notFound('no such route'));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      logger.error('request failed', { err: error, method: req.method, path: req.path });
    }
    if (res.headersSent) {
      // Too late for a problem document: cut the response so the client sees it failed.
      res.destroy();
      return;
    }
    sendProblem(res, appError);
  };
}
