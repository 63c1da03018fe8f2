import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { KeyRing } from '@tenantmesh/config';
import { isUid, mintUserToken, USER_TOKEN_HEADER } from '@tenantmesh/user-token';
import { z } from 'zod';
import type { FileObject, FilesClient } from '../job-types';

const SERVICE = 'files';
const ISSUER = 'jobs';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Objects per list page. A page of long names is ~1.3 KB an object; 200 keeps answers small. */
const PAGE_LIMIT = 200;
/** JSON answers (a list page, upload metadata) and problem documents are small; refuse anything huge. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_PROBLEM_BYTES = 64 * 1024;

/** A non-2xx answer from one of our services: the status, its problem `code`, and who said it. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly service: string,
    readonly status: number,
    /** The problem document's `code` (e.g. `quota_exceeded`); undefined when the body had none. */
    readonly code: string | undefined,
    detail?: string,
  ) {
    super(`${service} answered ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
  }
}

/** Builds the UpstreamError for a non-2xx answer from its (problem+json, usually) body text. */
export function upstreamErrorOf(service: string, status: number, body: string): UpstreamError {
  let code: string | undefined;
  let detail: string | undefined;
  try {
    const problem = JSON.parse(body) as { code?: unknown; detail?: unknown } | null;
    if (typeof problem?.code === 'string') code = problem.code;
    if (typeof problem?.detail === 'string') detail = problem.detail.slice(0, 500);
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone is the answer.
  }
  return new UpstreamError(service, status, code, detail);
}

export interface FilesClientOptions {
  /** The files service, e.g. `http://files:3002` (a path prefix is kept). */
  baseUrl: string;
  /** The jobs→files key ring: tokens signed with it are the only ones files accepts from jobs. */
  ring: Pick<KeyRing, 'signingKey'>;
  uid: string;
  /** Time without any socket activity (no answer, no bytes either way) before a request fails. */
  timeoutMs?: number;
  /** Objects per list page (1–1000, the files service's bounds); 200 unless given. */
  pageLimit?: number;
}

const fileObject: z.ZodType<FileObject> = z.object({
  name: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string().min(1),
});
const listPage = z.object({ objects: z.array(fileObject), next: z.string().min(1).optional() });

/**
 * The files service for ONE user. Every request carries a fresh X-User-Token minted by `jobs` for
 * `uid` with the jobs→files ring, so the files service itself confines it to that namespace
 * (anything else is 403 foreign_namespace there). Plain node:http, so uploads stream chunked with
 * backpressure and nothing is ever held whole.
 */
export function createFilesClient(options: FilesClientOptions): FilesClient {
  const { ring, uid } = options;
  if (!isUid(uid)) throw new TypeError('the files client needs a lowercase UUID uid');
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`files baseUrl must be http(s), got ${base.protocol}`);
  }
  const transport = base.protocol === 'https:' ? https : http;
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pageLimit = options.pageLimit ?? PAGE_LIMIT;
  if (!Number.isInteger(pageLimit) || pageLimit < 1 || pageLimit > 1000) {
    throw new RangeError('pageLimit must be a whole number from 1 to 1000');
  }
  const namespacePath = `${prefix}/objects/${uid}/`;

  const objectPath = (name: string): string => {
    // A dot segment would be resolved away by anything that normalises URLs on the way; an
    // empty one would name the namespace. The files service refuses all three; so do we, first.
    if (name === '' || name === '.' || name === '..') {
      throw new TypeError(`not an object name: ${JSON.stringify(name)}`);
    }
    return `${namespacePath}${encodeURIComponent(name)}`;
  };

  /** Starts a request with a fresh token; the caller ends it (or pipes a body into it). */
  const open = (method: string, path: string, headers: Record<string, string> = {}) => {
    const req = transport.request({
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port || undefined,
      method,
      path,
      headers: {
        ...headers,
        [USER_TOKEN_HEADER]: mintUserToken({ issuer: ISSUER, audience: SERVICE, uid, ring }),
      },
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`files request timed out after ${timeoutMs} ms without activity`));
    });
    const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      // Stays attached: a socket error after the answer must not become an unhandled 'error'.
      req.on('error', reject);
    });
    return { req, answered };
  };

  const failure = async (res: http.IncomingMessage): Promise<UpstreamError> => {
    const body = await readText(res, MAX_PROBLEM_BYTES).catch(() => '');
    return upstreamErrorOf(SERVICE, res.statusCode ?? 0, body);
  };

  const json = async <T>(res: http.IncomingMessage, schema: z.ZodType<T>): Promise<T> => {
    const parsed = schema.safeParse(JSON.parse(await readText(res, MAX_JSON_BYTES)));
    if (!parsed.success) throw new Error(`files answered an unexpected shape: ${parsed.error.message}`);
    return parsed.data;
  };

  return {
    async list(after) {
      const query = new URLSearchParams({ limit: String(pageLimit) });
      if (after !== undefined) query.set('after', after);
      const { req, answered } = open('GET', `${namespacePath}?${query}`);
      req.end();
      const res = await answered;
      if (res.statusCode !== 200) throw await failure(res);
      const page = await json(res, listPage);
      return page.next === undefined ? { objects: page.objects } : { objects: page.objects, next: page.next };
    },

    async download(name) {
      const { req, answered } = open('GET', objectPath(name));
      req.end();
      const res = await answered;
      if (res.statusCode !== 200) throw await failure(res);
      return res;
    },

    async upload(name, body, contentType) {
      const { req, answered } = open('PUT', objectPath(name), {
        'Content-Type': contentType,
        'Transfer-Encoding': 'chunked',
      });
      // The body's failure (or abort: a destroyed body) aborts the request, so the files service
      // sees an interrupted upload and keeps nothing of it.
      const onBodyError = (error: Error) => req.destroy(error);
      const onBodyClose = () => {
        if (!body.readableEnded) req.destroy(new Error('the upload body closed before its end'));
      };
      body.once('error', onBodyError);
      body.once('close', onBodyClose);
      body.pipe(req);
      let res: http.IncomingMessage;
      try {
        res = await answered;
      } catch (error) {
        body.unpipe(req);
        // Without an error: the caller may not listen for one on its own stream.
        if (!body.destroyed) body.destroy();
        throw error;
      } finally {
        body.off('error', onBodyError);
        body.off('close', onBodyClose);
      }
      const status = res.statusCode ?? 0;
      if (status !== 200 && status !== 201) {
        // Refused (413 quota, 400 name…), possibly before the body was all sent: stop producing it.
        body.unpipe(req);
        const error = await failure(res);
        if (!body.destroyed) body.destroy();
        req.destroy();
        throw error;
      }
      return json(res, fileObject);
    },

    async remove(name) {
      const { req, answered } = open('DELETE', objectPath(name));
      req.end();
      const res = await answered;
      if (res.statusCode === 204) {
        res.resume();
        return true;
      }
      const error = await failure(res);
      if (error.status === 404 && error.code === 'not_found') return false;
      throw error;
    },
  };
}

/** The whole body as UTF-8, refusing (and cutting) one longer than `limit` bytes. */
export function readText(res: Readable, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        res.destroy(new Error(`answer larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.readableEnded) reject(new Error('the answer was cut short'));
    });
  });
}
