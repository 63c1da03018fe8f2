import type postgres from 'postgres';

/**
 * Every ordinary and partitioned table outside the system schemas, as a quoted, schema-qualified
 * name (`public.notes`) that is safe to splice into SQL: PostgreSQL's format('%I') quotes it.
 */
export async function listTables(sql: postgres.Sql | postgres.TransactionSql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p')
      and n.nspname not in ('pg_catalog', 'information_schema')
      and left(n.nspname, 3) <> 'pg_'
    order by 1`;
  return rows.map((r) => r.name);
}
