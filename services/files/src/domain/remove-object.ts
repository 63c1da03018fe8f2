import { withTenant } from '@tenantmesh/db';
import { deleteObject } from '../db/queries/delete-object';
import type { FilesDeps } from '../deps';
import { storageKeyOf } from './object-identity';

/**
 * Deletes the row first, then the bytes: a crash in between leaves an unreferenced blob (which no
 * name reaches), never a name whose bytes are gone. Returns false when there was no such object.
 */
export async function removeObject(deps: FilesDeps, args: { uid: string; name: string }): Promise<boolean> {
  const removed = await withTenant(deps.database.db, args.uid, (trx) => deleteObject(trx, args));
  if (!removed) return false;
  const key = storageKeyOf(args.uid, removed.id);
  await deps.store.delete(key).catch((error: unknown) => {
    deps.logger.warn('could not remove the bytes of a deleted object', { key, err: error });
  });
  return true;
}
