import { rewrapDataKey, UnknownMasterKeyError } from '../crypto';
import { findDataKeysToRewrap } from '../db/queries/find-data-keys-to-rewrap';
import { replaceWrappedKey } from '../db/queries/replace-wrapped-key';
import type { FilesDeps } from '../deps';
import { encryptionContextOf } from './object-identity';

const BATCH = 200;

/**
 * Re-wraps every data key not wrapped by the ring's active master key: the data stays as it is,
 * only the 60-byte wrapped keys change (compare-and-set, so replicas may run this at once).
 * Returns how many keys it re-wrapped. Keys whose master key already left the ring are logged
 * and skipped (those objects cannot be read until the key is put back).
 */
export async function rewrapDataKeys(
  deps: Pick<FilesDeps, 'database' | 'masterKeys' | 'logger' | 'filesMetrics'>,
) {
  const { db } = deps.database;
  const skipped = new Set<string>();
  let rewrapped = 0;
  for (;;) {
    const active = deps.masterKeys.signingKey().kid;
    const batch = (await findDataKeysToRewrap(db, { activeKid: active, limit: BATCH + skipped.size })).filter(
      (row) => !skipped.has(row.id),
    );
    if (batch.length === 0) return rewrapped;
    for (const row of batch) {
      const old = { kid: row.key_kid, wrapped: row.wrapped_key };
      let next: ReturnType<typeof rewrapDataKey>;
      try {
        next = rewrapDataKey(deps.masterKeys, old, encryptionContextOf(row.user_id, row.id));
      } catch (error) {
        skipped.add(row.id);
        const reason =
          error instanceof UnknownMasterKeyError ? 'master key not in the ring' : (error as Error).message;
        deps.logger.error('cannot re-wrap a data key', {
          uid: row.user_id,
          objectId: row.id,
          kid: row.key_kid,
          reason,
        });
        continue;
      }
      if (!next) continue;
      const replaced = await replaceWrappedKey(db, {
        id: row.id,
        oldKid: old.kid,
        oldWrapped: old.wrapped,
        newKid: next.kid,
        newWrapped: next.wrapped,
      });
      if (replaced) {
        rewrapped += 1;
        deps.filesMetrics.rewrappedKeys.inc();
      } else {
        skipped.add(row.id); // changed meanwhile (re-wrapped elsewhere, replaced, deleted)
      }
    }
  }
}

/** Runs rewrapDataKeys every `intervalMs` (picking up a rotated ring); returns a stopper. */
export function startRewrapping(
  deps: Parameters<typeof rewrapDataKeys>[0],
  intervalMs: number,
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      rewrapDataKeys(deps).then(
        (count) => {
          if (count > 0) deps.logger.info('re-wrapped data keys under the active master key', { count });
        },
        (error: unknown) => deps.logger.warn('re-wrapping data keys failed; will retry', { err: error }),
      ),
    );
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
