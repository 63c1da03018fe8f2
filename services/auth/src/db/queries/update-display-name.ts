import type { DB } from '@tenantmesh/db';
import type { Transaction } from 'kysely';

export function updateDisplayName(trx: Transaction<DB>, args: { uid: string; displayName: string }) {
  return trx
    .updateTable('user_sessions')
    .set({ display_name: args.displayName, updated_at: new Date() })
    .where('id', '=', args.uid)
    .executeTakeFirst();
}
