import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function listNotes(trx: Transaction<DB>, args: { uid: string; notebookId: string }) {
  return trx
    .selectFrom('notes')
    .select(['id', 'notebook_id', 'body', 'created_at'])
    .where('user_id', '=', args.uid)
    .where('notebook_id', '=', args.notebookId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
