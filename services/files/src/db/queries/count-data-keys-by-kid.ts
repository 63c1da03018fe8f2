import type { DB } from '@tenantmesh/db';
import { type Kysely, sql } from 'kysely';

/** Across users, through the narrow SECURITY DEFINER function (migration 0005). */
export async function countDataKeysByKid(db: Kysely<DB>) {
  const { rows } = await sql<{ key_kid: string; objects: string }>`
    select key_kid, objects from files_data_keys_by_kid()`.execute(db);
  return rows.map((r) => ({ kid: r.key_kid, objects: Number(r.objects) }));
}
