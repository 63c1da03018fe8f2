import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/** Bytes a user stores, optionally leaving out one name (the object an upload will replace). */
export async function sumObjectBytes(trx: Transaction<DB>, args: { uid: string; exceptName?: string }) {
  let query = trx
    .selectFrom('file_objects')
    .select(sql<string>`coalesce(sum(size), 0)`.as('bytes'))
    .where('user_id', '=', args.uid);
  if (args.exceptName !== undefined) query = query.where('name', '<>', args.exceptName);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.bytes);
}
