import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function listNotebooks(trx: Transaction<DB>, args: { uid: string }) {
  return trx
    .selectFrom('notebooks')
    .select(['id', 'title', 'created_at'])
    .where('user_id', '=', args.uid)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
