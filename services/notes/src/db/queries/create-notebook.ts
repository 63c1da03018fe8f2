import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function createNotebook(trx: Transaction<DB>, args: { uid: string; title: string }) {
  return trx
    .insertInto('notebooks')
    .values({ user_id: args.uid, title: args.title })
    .returning(['id', 'title', 'created_at'])
    .executeTakeFirstOrThrow();
}
