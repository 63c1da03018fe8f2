import type { DB } from '@tenantmesh/db';
import { sql, type Transaction } from 'kysely';

/**
 * Serialises commits to one user's namespace until the transaction ends, so the quota check and
 * the replace of a name see every other commit (two racing uploads cannot both fit the quota).
 */
export async function lockNamespace(trx: Transaction<DB>, args: { uid: string }) {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`files:${args.uid}`}, 0))`.execute(trx);
}
