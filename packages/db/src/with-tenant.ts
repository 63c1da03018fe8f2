import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from './schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs one unit of work as the tenant `uid`: a transaction in which `app.user_id` is set
 * (transaction-local, so a pooled connection never carries it into the next request), which
 * the row-level security policies compare every row against. Query code still filters by
 * user_id itself; RLS is the second wall, not the first.
 */
export async function withTenant<T>(
  db: Kysely<DB>,
  uid: string,
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  if (!UUID.test(uid)) throw new TypeError('withTenant needs a uid that is a UUID');
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('app.user_id', ${uid}, true)`.execute(trx);
    return work(trx);
  });
}
