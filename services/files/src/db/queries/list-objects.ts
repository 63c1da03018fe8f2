import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

/** One page in name order, after the cursor `after` (a name). */
export function listObjects(trx: Transaction<DB>, args: { uid: string; after?: string; limit: number }) {
  let query = trx
    .selectFrom('file_objects')
    .select(['name', 'size', 'sha256', 'content_type', 'created_at', 'updated_at'])
    .where('user_id', '=', args.uid);
  if (args.after !== undefined) query = query.where('name', '>', args.after);
  return query.orderBy('name').limit(args.limit).execute();
}
