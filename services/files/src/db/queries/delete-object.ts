import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

/** Deletes one name; returns the removed version's id (its storage key) or undefined. */
export function deleteObject(trx: Transaction<DB>, args: { uid: string; name: string }) {
  return trx
    .deleteFrom('file_objects')
    .where('user_id', '=', args.uid)
    .where('name', '=', args.name)
    .returning(['id'])
    .executeTakeFirst();
}
