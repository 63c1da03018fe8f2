import { createHash, randomUUID } from 'node:crypto';
import { pipeline, type Readable, Transform } from 'node:stream';
import { withTenant } from '@tenantmesh/db';
import { AppError, errors } from '@tenantmesh/http-kit';
import { createEncryptStream, newDataKey, wrapDataKey } from '../crypto';
import { deleteObject } from '../db/queries/delete-object';
import { findObject } from '../db/queries/find-object';
import { insertObject } from '../db/queries/insert-object';
import { lockNamespace } from '../db/queries/lock-namespace';
import { sumObjectBytes } from '../db/queries/sum-object-bytes';
import type { FilesDeps } from '../deps';
import type { UploadOutcome } from '../files-metrics';
import { encryptionContextOf, storageKeyOf } from './object-identity';
import { type ObjectMetadata, toMetadata } from './object-metadata';

export interface PutObjectInput {
  uid: string;
  name: string;
  contentType: string;
  /** The request body: read once, streamed, never held whole. */
  body: Readable;
  /** Content-Length when the client sent one: refused up front when it cannot fit. */
  declaredBytes?: number;
}

class LimitExceeded extends Error {}
class Interrupted extends Error {}

/**
 * Streams an upload through hashing, the size/quota limit and encryption into the object store
 * under a fresh version id, then commits its metadata row in one transaction that re-checks the
 * quota and replaces any object of the same name. Whatever fails — a dropped connection, a limit,
 * the store, the commit — leaves neither a stored blob nor a row behind: storage and metadata
 * agree. The replaced version's blob is deleted after the commit.
 */
export async function putObject(
  deps: FilesDeps,
  input: PutObjectInput,
): Promise<{ object: ObjectMetadata; created: boolean }> {
  const { uid, name } = input;
  const { limits, store, filesMetrics, logger } = deps;
  const { db } = deps.database;
  const count = (outcome: UploadOutcome) => filesMetrics.uploads.inc({ outcome });

  const usedByOthers = await withTenant(db, uid, (trx) => sumObjectBytes(trx, { uid, exceptName: name }));
  const roomLeft = Math.max(0, limits.quotaBytes - usedByOthers);
  const allowed = Math.min(limits.maxObjectBytes, roomLeft);
  // Over the per-object limit is payload_too_large; within it but over what the quota leaves is
  // quota_exceeded (also when a concurrent upload used the room up before this one committed).
  const tooLarge = (bytes: number): AppError => {
    if (bytes <= limits.maxObjectBytes) {
      count('quota');
      return errors.quotaExceeded(limits.quotaBytes);
    }
    count('too_large');
    return errors.payloadTooLarge(`objects may be at most ${limits.maxObjectBytes} bytes`);
  };
  if (input.declaredBytes !== undefined && input.declaredBytes > allowed) throw tooLarge(input.declaredBytes);

  const id = randomUUID();
  const key = storageKeyOf(uid, id);
  const context = encryptionContextOf(uid, id);
  const dataKey = newDataKey();
  const wrapped = wrapDataKey(deps.masterKeys, dataKey, context);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > allowed) {
        done(new LimitExceeded());
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const encrypted = pipeline(
    measure,
    createEncryptStream({ dataKey, chunkBytes: limits.chunkBytes, context }),
    () => {},
  );
  // pipe, not pipeline, for the body: an error downstream (a limit) must not destroy the request,
  // or its socket would go before the 413 is sent. A client that goes away fails the upload.
  const body = input.body;
  const interrupted = () => {
    if (!body.readableEnded) measure.destroy(new Interrupted());
  };
  body.once('close', interrupted);
  body.once('error', interrupted);
  body.pipe(measure);
  try {
    await store.put(key, encrypted);
  } catch (error) {
    if (measure.errored instanceof LimitExceeded) throw tooLarge(size);
    if (measure.errored instanceof Interrupted) {
      count('aborted');
      throw errors.badRequest('the upload was interrupted');
    }
    count('failed');
    throw error;
  } finally {
    body.off('close', interrupted);
    body.off('error', interrupted);
  }

  let replacedId: string | undefined;
  let row: Awaited<ReturnType<typeof insertObject>>;
  try {
    row = await withTenant(db, uid, async (trx) => {
      await lockNamespace(trx, { uid });
      const others = await sumObjectBytes(trx, { uid, exceptName: name });
      if (others + size > limits.quotaBytes) throw tooLarge(size);
      const previous = await findObject(trx, { uid, name });
      if (previous) await deleteObject(trx, { uid, name });
      replacedId = previous?.id;
      return insertObject(trx, {
        id,
        user_id: uid,
        name,
        size,
        sha256: hash.digest(),
        content_type: input.contentType,
        chunk_bytes: limits.chunkBytes,
        key_kid: wrapped.kid,
        wrapped_key: wrapped.wrapped,
        created_at: previous?.created_at,
      });
    });
  } catch (error) {
    await store
      .delete(key)
      .catch((e: unknown) => logger.warn('could not remove an uncommitted upload', { key, err: e }));
    if (!(error instanceof AppError)) count('failed');
    throw error;
  }
  count('stored');
  filesMetrics.uploadedBytes.inc(size);
  if (replacedId !== undefined) {
    const old = storageKeyOf(uid, replacedId);
    await store
      .delete(old)
      .catch((e: unknown) => logger.warn('could not remove a replaced version', { key: old, err: e }));
  }
  return { object: toMetadata(row), created: replacedId === undefined };
}
