import { pipeline, Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  assertRange,
  assertStorageKey,
  assertStoragePrefix,
  type ByteRange,
  isStorageKey,
  ObjectMissingError,
  type ObjectStore,
} from './object-store';

export interface S3StoreSettings {
  bucket: string;
  region: string;
  /** For S3-compatible servers (MinIO, Ceph, s3rver); absent for AWS itself. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Asked for on every write: S3-managed keys, or KMS (with kmsKeyId, or the account's default key). */
  serverSideEncryption: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** Absent: the SDK's default chain (environment, web identity, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size; default 8 MiB, at least 5 MiB (S3's minimum for all but the last part). */
  partBytes?: number;
  /** Parts uploaded concurrently per put; default 2. */
  queueSize?: number;
}

const MIB = 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * MIB;
export const DEFAULT_QUEUE_SIZE = 2;
const MIN_PART_BYTES = 5 * MIB;

/**
 * Objects in one bucket under their storage key. Memory per put scales with partBytes ×
 * queueSize, never with the object: lib-storage cuts the body into parts of partBytes and runs
 * queueSize uploaders, each holding one part (being filled or in flight), and builds each part by
 * concatenating the stream's chunks (a transient second copy). Measured for a 256 MiB body
 * (live Buffer memory, peak): 30–41 MiB with the defaults 8 MiB × 2, 73 MiB at 8 MiB × 4,
 * 80 MiB at 16 MiB × 2. Budget about (2 × queueSize + 4) × partBytes per concurrent upload
 * (64 MiB with the defaults) and admit uploads accordingly.
 */
export function createS3ObjectStore(settings: S3StoreSettings): ObjectStore {
  const partSize = settings.partBytes ?? DEFAULT_PART_BYTES;
  const queueSize = settings.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!settings.bucket) throw new Error('S3 store: bucket is required');
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_BYTES) {
    throw new Error(`S3 store: partBytes must be an integer of at least ${MIN_PART_BYTES}`);
  }
  if (!Number.isSafeInteger(queueSize) || queueSize < 1) {
    throw new Error('S3 store: queueSize must be a positive integer');
  }
  if (settings.kmsKeyId && settings.serverSideEncryption !== 'aws:kms') {
    throw new Error('S3 store: kmsKeyId is only meaningful with serverSideEncryption aws:kms');
  }

  const Bucket = settings.bucket;
  const encryption: { ServerSideEncryption: ServerSideEncryption; SSEKMSKeyId?: string } =
    settings.serverSideEncryption === 'aws:kms'
      ? { ServerSideEncryption: 'aws:kms', ...(settings.kmsKeyId ? { SSEKMSKeyId: settings.kmsKeyId } : {}) }
      : { ServerSideEncryption: 'AES256' };

  const client = new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Since 3.729 the SDK adds a CRC32 checksum to every upload by default, and for a streamed
    // body sends it as an aws-chunked body with a trailing checksum header. S3-compatible servers
    // that do not speak aws-chunked reject that, or worse: s3rver 3.7.1 stores the chunk framing
    // ("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:…") as the object's bytes (verified).
    // lib-storage hands the SDK whole parts as Buffers today, but WHEN_REQUIRED keeps every request
    // off that path: checksums only where an API demands one. responseChecksumValidation likewise
    // stops asking for response checksums such servers do not keep. Integrity does not rest on
    // them: what this store holds is authenticated ciphertext (AES-256-GCM, see DESIGN).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dead endpoint fails readiness in seconds rather than hanging /readyz.
    requestHandler: { connectionTimeout: 5_000 },
  });

  return {
    kind: 's3',

    async put(key, body) {
      try {
        assertStorageKey(key);
      } catch (error) {
        body.destroy();
        throw error;
      }
      let bytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      // pipeline hands an error (or premature close) of `body` to `counted`, where the Upload
      // reading it sees it; destroying `counted` on our side destroys `body` in turn.
      pipeline(body, counted, () => {});
      const upload = new Upload({
        client,
        params: { Bucket, Key: key, Body: counted, ContentType: 'application/octet-stream', ...encryption },
        partSize,
        queueSize,
        // On any failure lib-storage sends AbortMultipartUpload, so no parts linger (and bill).
        leavePartsOnError: false,
      });
      try {
        await upload.done();
        return { bytes };
      } catch (error) {
        counted.destroy();
        await abortQuietly(upload.uploadId, key, error);
        throw error;
      }
    },

    async get(key, range) {
      assertStorageKey(key);
      assertRange(range);
      try {
        const response = await client.send(
          new GetObjectCommand({
            Bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        // In Node the SDK's body is an http.IncomingMessage with helpers mixed in.
        const body = response.Body;
        if (!(body instanceof Readable)) throw new Error('S3 store: response body is not a stream');
        if (range && !servesRange(response.ContentRange, range)) {
          body.destroy();
          // A server that ignores or bends Range would hand callers the wrong bytes at the right offsets.
          throw new Error(
            `S3 store: asked for bytes ${range.start}-${range.end}, got ${response.ContentRange}`,
          );
        }
        return body;
      } catch (error) {
        if (isMissing(error)) throw new ObjectMissingError(key);
        throw error;
      }
    },

    async stat(key) {
      assertStorageKey(key);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { bytes: head.ContentLength ?? 0 };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async delete(key) {
      assertStorageKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key })); // absent keys answer 204
    },

    list(prefix) {
      // Validated here, not inside the generator, so a bad prefix throws at the call.
      assertStoragePrefix(prefix);
      return (async function* listPages() {
        for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix: prefix })) {
          for (const object of page.Contents ?? []) {
            if (object.Key && isStorageKey(object.Key)) yield { key: object.Key, bytes: object.Size ?? 0 };
          }
        }
      })();
    },

    async check() {
      await client.send(new HeadBucketCommand({ Bucket }));
    },

    async close() {
      client.destroy();
    },
  };

  /**
   * lib-storage already aborts on failure, but if its AbortMultipartUpload itself failed the upload
   * would linger; one more attempt is cheap (NoSuchUpload just means it is gone). Bucket lifecycle
   * rule AbortIncompleteMultipartUpload remains the backstop for a process killed mid-put.
   */
  async function abortQuietly(uploadId: string | undefined, key: string, failure: unknown) {
    if (!uploadId) return;
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }));
    } catch (abortError) {
      if (errorName(abortError) === 'NoSuchUpload') return;
      if (failure instanceof Error && failure.cause === undefined) failure.cause = abortError;
    }
  }
}

function isMissing(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  // A missing bucket is a misconfiguration, not a missing object.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return status === 404 && name !== 'NoSuchBucket';
}

/** `Content-Range: bytes a-b/size` must be the range asked for, clipped to the object's end as S3 does. */
function servesRange(contentRange: string | undefined, range: ByteRange): boolean {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange ?? '');
  if (!match) return false;
  const [first, last, size] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return first === range.start && last === Math.min(range.end, size - 1);
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: unknown } | undefined)?.name as string | undefined;
}
