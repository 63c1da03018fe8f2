import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function findUser(trx: Transaction<DB>, args: { uid: string }) {
  return trx
    .selectFrom('user_sessions')
    .select(['id', 'provider', 'email', 'display_name', 'created_at', 'deletion_requested_at'])
    .where('id', '=', args.uid)
    .executeTakeFirst();
}
