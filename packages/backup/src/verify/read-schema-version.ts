import type postgres from 'postgres';

/** The highest applied migration, or 0 for a database that was never migrated. */
export async function readSchemaVersion(sql: postgres.Sql | postgres.TransactionSql): Promise<number> {
  const [exists] = await sql<{ found: boolean }[]>`
    select to_regclass('public.schema_migrations') is not null as found`;
  if (!exists!.found) return 0;
  const [row] = await sql<{ version: number }[]>`
    select coalesce(max(version), 0)::int as version from public.schema_migrations`;
  return row!.version;
}
