import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function findObject(trx: Transaction<DB>, args: { uid: string; name: string }) {
  return trx
    .selectFrom('file_objects')
    .selectAll()
    .where('user_id', '=', args.uid)
    .where('name', '=', args.name)
    .executeTakeFirst();
}
