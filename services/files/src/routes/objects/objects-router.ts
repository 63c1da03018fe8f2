import { pipeline } from 'node:stream';
import { AppError, errors, parseInput } from '@tenantmesh/http-kit';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { FilesDeps } from '../../deps';
import { dispositionFor, storedContentType } from '../../domain/content-policy';
import { listNamespace } from '../../domain/list-namespace';
import { putObject } from '../../domain/put-object';
import { findStoredObject } from '../../domain/read-object';
import { removeObject } from '../../domain/remove-object';
import { validateObjectName } from '../../names/object-name';
import type { ByteRange } from '../../storage/object-store';
import { parseObjectPath } from './object-path';

const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    after: z.string().max(4096).optional(),
  })
  .strict();

/**
 * `/<uid>/` (list) and `/<uid>/<name>` (GET, HEAD, PUT, DELETE). The path is parsed from the raw
 * URL by parseObjectPath: namespace first (403 foreign_namespace), then the name (400).
 */
export function objectsRouter(deps: FilesDeps): Router {
  const router = express.Router();

  router.all('/:uid{/*rest}', async (req, res) => {
    const uid = userIdOf(res);
    const path = parseObjectPath(req.path, uid);
    const method = req.method;
    if (path.kind === 'namespace') {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
      const query = parseInput(listQuery, req.query);
      const after = query.after === undefined ? undefined : validateObjectName(query.after);
      res.json(await listNamespace(deps, { uid, after, limit: query.limit }));
      return;
    }
    const { name } = path;
    switch (method) {
      case 'PUT':
        await upload(deps, req, res, uid, name);
        return;
      case 'GET':
      case 'HEAD':
        await download(deps, req, res, uid, name);
        return;
      case 'DELETE':
        if (!(await removeObject(deps, { uid, name }))) throw errors.notFound('no such object');
        res.status(204).end();
        return;
      default:
        throw methodNotAllowed(res, 'GET, HEAD, PUT, DELETE');
    }
  });

  router.use(((error, req, res, next) => {
    // The router's own decoding of a malformed %-escape in the path: a bad name, not a bad request.
    if (error instanceof URIError) {
      next(errors.invalidObjectName('malformed percent-encoding'));
      return;
    }
    // Refused before or while reading the body (too large, over quota, bad name, foreign
    // namespace): close rather than read up to a gigabyte we are going to throw away. But not at
    // once: closing a socket with unread bytes resets it, and a client still sending would lose
    // the answer with it. Discard a little while the answer goes out, then close.
    if (req.method === 'PUT' && !req.complete) {
      res.setHeader('Connection', 'close');
      discardThenClose(req);
    }
    next(error);
  }) as ErrorRequestHandler);

  return router;
}

function methodNotAllowed(res: Response, allow: string): AppError {
  res.setHeader('Allow', allow);
  return new AppError('method_not_allowed', `use ${allow}`);
}

async function upload(deps: FilesDeps, req: Request, res: Response, uid: string, name: string) {
  const declared = req.headers['content-length'];
  const { object, created } = await putObject(deps, {
    uid,
    name,
    contentType: storedContentType(req.headers['content-type']),
    body: req,
    declaredBytes: declared === undefined ? undefined : Number(declared),
  });
  res
    .status(created ? 201 : 200)
    .setHeader('ETag', object.etag)
    .json(object);
}

async function download(deps: FilesDeps, req: Request, res: Response, uid: string, name: string) {
  const stored = await findStoredObject(deps, { uid, name });
  if (!stored) throw errors.notFound('no such object');
  const { metadata } = stored;
  res.setHeader('ETag', metadata.etag);
  res.setHeader('Last-Modified', new Date(metadata.updatedAt).toUTCString());
  res.setHeader('Cache-Control', 'private, no-cache');
  res.setHeader('Accept-Ranges', 'bytes');
  if (matchesAny(req.headers['if-none-match'], metadata.etag)) {
    res.status(304).end();
    return;
  }
  const range = requestedRange(req, metadata.size, metadata.etag);
  res.setHeader('Content-Type', metadata.contentType);
  res.setHeader('Content-Disposition', dispositionFor(metadata.name, metadata.contentType));
  // A download is data, never a document of ours: no scripts, no plugins, an opaque origin.
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  const length = range ? range.end - range.start + 1 : metadata.size;
  res.setHeader('Content-Length', String(length));
  if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${metadata.size}`);
  res.status(range ? 206 : 200);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const plain = await stored.open(range);
  pipeline(plain, res, (error) => {
    if (error && !res.writableFinished) {
      deps.logger.warn('download cut short', { uid, err: error });
    }
  });
}

/** One satisfiable range, or undefined for the whole object (no Range, several ranges, stale If-Range). */
function requestedRange(req: Request, size: number, etag: string): ByteRange | undefined {
  if (req.headers.range === undefined || size === 0) return undefined;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== etag) return undefined;
  const ranges = req.range(size, { combine: true });
  if (ranges === -1) throw errors.rangeNotSatisfiable(size);
  if (ranges === -2 || ranges === undefined || ranges.length !== 1) return undefined; // malformed or multipart: send all
  const [only] = ranges;
  return only ? { start: only.start, end: only.end } : undefined;
}

function matchesAny(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** What a refused upload may still send us before we cut it off: enough for the answer to get out. */
const DISCARD_BYTES = 1024 * 1024;
const DISCARD_MS = 2000;

function discardThenClose(req: Request): void {
  let seen = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, DISCARD_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_BYTES) {
      clearTimeout(timer);
      cut();
    }
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
