import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function createNote(trx: Transaction<DB>, args: { uid: string; notebookId: string; body: string }) {
  return trx
    .insertInto('notes')
    .values({ user_id: args.uid, notebook_id: args.notebookId, body: args.body })
    .returning(['id', 'notebook_id', 'body', 'created_at'])
    .executeTakeFirstOrThrow();
}
