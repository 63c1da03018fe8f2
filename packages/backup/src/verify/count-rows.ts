import type postgres from 'postgres';

export type RowCounts = Record<string, number>;

/**
 * Exact row counts (a full scan of each table, which also proves every heap page is readable).
 * `tables` must come from listTables: the names are spliced into the SQL.
 */
export async function countRows(
  sql: postgres.Sql | postgres.TransactionSql,
  tables: string[],
): Promise<RowCounts> {
  const counts: RowCounts = {};
  for (const table of tables) {
    const [row] = await sql.unsafe<{ n: string }[]>(`select count(*)::bigint as n from ${table}`);
    counts[table] = Number(row!.n);
  }
  return counts;
}
