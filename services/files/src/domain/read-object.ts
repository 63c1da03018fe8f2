import { pipeline, type Readable, Transform } from 'node:stream';
import { withTenant } from '@tenantmesh/db';
import { errors } from '@tenantmesh/http-kit';
import {
  cipherRangeFor,
  createDecryptStream,
  IntegrityError,
  UnknownMasterKeyError,
  unwrapDataKey,
} from '../crypto';
import { findObject } from '../db/queries/find-object';
import type { FilesDeps } from '../deps';
import type { ByteRange } from '../storage/object-store';
import { ObjectMissingError } from '../storage/object-store';
import { encryptionContextOf, storageKeyOf } from './object-identity';
import { type ObjectMetadata, toMetadata } from './object-metadata';

export interface StoredObject {
  metadata: ObjectMetadata;
  /**
   * Decrypted bytes (all, or an inclusive plaintext range). Resolves only once the first chunk has
   * authenticated, so a tampered object fails before any header is sent; a later failure errors
   * the stream (the caller cuts the response) and never yields unauthenticated bytes.
   */
  open(range?: ByteRange): Promise<Readable>;
}

export async function findStoredObject(
  deps: FilesDeps,
  args: { uid: string; name: string },
): Promise<StoredObject | undefined> {
  const { uid } = args;
  const row = await withTenant(deps.database.db, uid, (trx) => findObject(trx, args));
  if (!row) return undefined;
  const plainBytes = Number(row.size);
  const context = encryptionContextOf(uid, row.id);
  const key = storageKeyOf(uid, row.id);
  const integrityFailure = (reason: string) => {
    deps.filesMetrics.integrityFailures.inc();
    // Operators find the object from here (runbook: FilesIntegrityFailure); never the name.
    deps.logger.error('object integrity failure', { uid, objectId: row.id, reason });
    return errors.integrityFailure();
  };
  return {
    metadata: toMetadata(row),
    open: async (range) => {
      let dataKey: Buffer;
      try {
        dataKey = unwrapDataKey(deps.masterKeys, { kid: row.key_kid, wrapped: row.wrapped_key }, context);
      } catch (error) {
        if (error instanceof UnknownMasterKeyError) {
          deps.logger.error('object wrapped by a master key no longer in the ring', {
            uid,
            objectId: row.id,
            kid: row.key_kid,
          });
          throw errors.internal();
        }
        if (error instanceof IntegrityError) throw integrityFailure(error.reason);
        throw error;
      }
      const options = { dataKey, chunkBytes: row.chunk_bytes, context, plainBytes, range };
      let stored: Readable;
      try {
        stored = await deps.store.get(key, cipherRangeFor(options));
      } catch (error) {
        if (error instanceof ObjectMissingError) throw integrityFailure('missing');
        throw error;
      }
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          deps.filesMetrics.downloadedBytes.inc(chunk.length);
          done(null, chunk);
        },
      });
      const plain = pipeline(stored, createDecryptStream(options), count, (error) => {
        if (error instanceof IntegrityError) integrityFailure(error.reason);
      });
      await firstChunkReady(plain).catch((error: unknown) => {
        throw error instanceof IntegrityError ? errors.integrityFailure() : error;
      });
      return plain;
    },
  };
}

/** Waits until the stream has data (or ended) without consuming it; rejects on an early error. */
function firstChunkReady(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      stream.off('readable', onReadable);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onReadable = () => done();
    stream.once('readable', onReadable);
    stream.once('error', done);
  });
}
