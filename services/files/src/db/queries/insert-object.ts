import type { DB } from '@tenantmesh/db';
import type { Insertable, Transaction } from 'kysely';

export function insertObject(trx: Transaction<DB>, row: Insertable<DB['file_objects']>) {
  return trx.insertInto('file_objects').values(row).returningAll().executeTakeFirstOrThrow();
}
