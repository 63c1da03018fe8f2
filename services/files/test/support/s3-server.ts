import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { S3StoreSettings } from '../../src/storage/s3-object-store';

/** One request as it reached the server, before s3rver handled it. */
export interface RecordedS3Request {
  method: string;
  /** Path-style: `/<bucket>/<key>`. */
  path: string;
  /** The parsed query (e.g. `uploads`, `uploadId`, `partNumber`). */
  query: Record<string, string | string[] | undefined>;
  headers: IncomingHttpHeaders;
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** Ready for createS3ObjectStore: path style, s3rver's fixed credentials, AES256. */
  settings: S3StoreSettings;
  /** s3rver's storage; removed by close(). */
  directory: string;
  /** Every request received, in order: what the client really sent (e.g. SSE headers). */
  requests: RecordedS3Request[];
  /**
   * Multipart uploads s3rver still holds on disk (initiated, neither completed nor aborted),
   * read from its storage directly rather than through the API.
   */
  pendingUploadIds(): Promise<string[]>;
  close(): Promise<void>;
}

// s3rver ships no type declarations; this is the part of it used here.
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: IncomingHttpHeaders;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverObject {
  size: number;
  content?: Readable | null;
  range?: { start: number; end: number };
}
interface S3rverStore {
  getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3rverObject | null>;
  getResourcePath(bucket: string, key: string, resource: string): string;
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  resetOnClose: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
// s3rver is untyped CommonJS: `import` would need a declaration file; require() is typed here instead.
const S3rver: S3rverConstructor = require('s3rver');

/** s3rver keeps a multipart upload's key, metadata and parts in this folder of the bucket. */
const UPLOADS_FOLDER = '._S3rver_uploads';
const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * s3rver on 127.0.0.1 (a free port) over a fresh temporary directory, with one bucket.
 *
 * s3rver 3.7.1 implements neither AbortMultipartUpload (405 MethodNotAllowed) nor
 * ListMultipartUploads (501 NotImplemented), the two calls that make and prove "a failed upload
 * leaves nothing behind". Both are added here, in front of s3rver, on top of its own on-disk
 * layout: abort deletes the upload's folder, list reads those folders. pendingUploadIds() reads
 * the same folders without going through the API, so tests need not trust the additions. It also
 * fixes s3rver's answer to `Range: bytes=0-0` (see fixFirstByteRange).
 */
export async function startS3Server(): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'files-s3rver-'));
  const bucket = 'files-test';
  const uploadsDir = path.join(directory, bucket, UPLOADS_FOLDER);
  const requests: RecordedS3Request[] = [];

  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    resetOnClose: false,
    configureBuckets: [{ name: bucket }],
  });
  const record: KoaMiddleware = async (ctx, next) => {
    requests.push({
      method: ctx.method,
      path: ctx.path,
      query: { ...ctx.query },
      headers: { ...ctx.headers },
    });
    await next();
  };
  const multipartAdditions: KoaMiddleware = async (ctx, next) => {
    const objectPrefix = `/${bucket}/`;
    if (
      ctx.method === 'DELETE' &&
      ctx.path.startsWith(objectPrefix) &&
      typeof ctx.query.uploadId === 'string'
    ) {
      const key = decodeURIComponent(ctx.path.slice(objectPrefix.length));
      const uploadId = ctx.query.uploadId;
      const storedKey = UPLOAD_ID.test(uploadId)
        ? await readFile(path.join(uploadsDir, uploadId, 'key'), 'utf8').catch(() => undefined)
        : undefined;
      if (storedKey !== key)
        return respondXml(ctx, 404, errorXml('NoSuchUpload', 'The specified upload does not exist.'));
      await rm(path.join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (
      ctx.method === 'GET' &&
      (ctx.path === `/${bucket}` || ctx.path === objectPrefix) &&
      'uploads' in ctx.query
    ) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const uploads: string[] = [];
      for (const uploadId of await listUploadIds(uploadsDir)) {
        const key = await readFile(path.join(uploadsDir, uploadId, 'key'), 'utf8').catch(() => undefined);
        if (key?.startsWith(prefix)) {
          uploads.push(
            `<Upload><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId>` +
              `<Initiated>${new Date().toISOString()}</Initiated></Upload>`,
          );
        }
      }
      return respondXml(
        ctx,
        200,
        '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          `<Bucket>${bucket}</Bucket><Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
          `<IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`,
      );
    }
    await next();
  };
  server.middleware.unshift(record, multipartAdditions);
  fixFirstByteRange(server.store);

  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    settings: {
      bucket,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      serverSideEncryption: 'AES256',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    directory,
    requests,
    pendingUploadIds: () => listUploadIds(uploadsDir),
    close: async () => {
      // A test that left a download unread must not hold the server (and jest) open.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver 3.7.1 reads `Range: bytes=0-0` as `bytes=0-` (its store does `options.end || Infinity`)
 * and answers with the whole object; S3 answers with one byte. Serve that byte.
 */
function fixFirstByteRange(store: S3rverStore): void {
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, options) => {
    const object = await getObject(bucket, key, options);
    if (options?.end === 0 && object?.content && object.size > 0) {
      object.content.destroy();
      object.content = createReadStream(store.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
      object.range = { start: 0, end: 0 };
    }
    return object;
  };
}

async function listUploadIds(uploadsDir: string): Promise<string[]> {
  try {
    return (await readdir(uploadsDir)).filter((name) => UPLOAD_ID.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function respondXml(ctx: KoaContext, status: number, xml: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}

function errorXml(code: string, message: string): string {
  return `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
