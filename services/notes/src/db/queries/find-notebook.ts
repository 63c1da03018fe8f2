import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function findNotebook(trx: Transaction<DB>, args: { uid: string; notebookId: string }) {
  return trx
    .selectFrom('notebooks')
    .select(['id', 'title'])
    .where('user_id', '=', args.uid)
    .where('id', '=', args.notebookId)
    .executeTakeFirst();
}
