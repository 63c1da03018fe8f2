import type { DB } from '@tenantmesh/db';
import { type Kysely, sql } from 'kysely';

/** Deletes events older than the retention window, across users (SECURITY DEFINER, migration 0006). */
export async function pruneEvents(db: Kysely<DB>, args: { olderThanHours: number; limit: number }) {
  const { rows } = await sql<{ deleted: string }>`
    select events_prune(make_interval(secs => ${args.olderThanHours * 3600}), ${args.limit}) as deleted`.execute(
    db,
  );
  return Number(rows[0]?.deleted ?? 0);
}
