import type postgres from 'postgres';

export interface IndexCheck {
  checked: number;
  failures: { index: string; error: string }[];
}

/**
 * amcheck's bt_index_check on every valid B-tree index of the connected database, catalogs
 * included, with heapallindexed: besides the index's own structure, every heap tuple must be
 * findable through it — corruption that a plain SELECT would never notice. Creates the
 * extension, so run it only on the restored, throwaway cluster, as a superuser.
 */
export async function checkBtreeIndexes(sql: postgres.Sql): Promise<IndexCheck> {
  await sql`create extension if not exists amcheck`;
  const indexes = await sql<{ oid: number; name: string }[]>`
    select c.oid::int as oid, format('%I.%I', n.nspname, c.relname) as name
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_am am on am.oid = c.relam
    where am.amname = 'btree' and i.indisvalid and i.indisready and c.relpersistence <> 't'
    order by 2`;
  const failures: IndexCheck['failures'] = [];
  for (const index of indexes) {
    try {
      await sql`select bt_index_check(${index.oid}::oid, true)`;
    } catch (error) {
      failures.push({ index: index.name, error: (error as Error).message });
    }
  }
  return { checked: indexes.length, failures };
}
