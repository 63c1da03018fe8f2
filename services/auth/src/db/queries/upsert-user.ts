import type { DB } from '@tenantmesh/db';
import { type Kysely, sql } from 'kysely';

/** Finds or creates the user by (provider, subject) through the SECURITY DEFINER upsert_user(). */
export async function upsertUser(
  db: Kysely<DB>,
  args: { provider: string; subject: string; email: string | null; displayName: string | null },
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select upsert_user(${args.provider}, ${args.subject}, ${args.email}, ${args.displayName}) as id`.execute(
    db,
  );
  return rows[0]!.id;
}
