import type postgres from 'postgres';
import { checkBtreeIndexes, type IndexCheck } from './check-indexes';
import { type CountMismatch, compareCounts } from './compare-counts';
import { countRows, type RowCounts } from './count-rows';
import { listTables } from './list-tables';
import { readSchemaVersion } from './read-schema-version';

export interface Expectation {
  /** Rows per table the restore must hold exactly; omitted when there is nothing to compare with. */
  counts?: RowCounts;
  schemaVersion: number;
}

export interface Verification {
  ok: boolean;
  problems: string[];
  tablesChecked: number;
  counts: RowCounts;
  mismatches: CountMismatch[];
  indexes: IndexCheck;
  schemaVersion: { expected: number; actual: number };
  databaseBytes: number;
}

/**
 * Checks a restored database: every table readable and (when the expectation has counts) holding
 * exactly the source's rows at the target; every B-tree index sound (amcheck); the schema at the
 * source's migration version. Connect as a superuser: it sees every row, whatever RLS says.
 */
export async function verifyRestore(sql: postgres.Sql, expected: Expectation): Promise<Verification> {
  const tables = await listTables(sql);
  const counts = await countRows(sql, tables);
  const mismatches = expected.counts ? compareCounts(expected.counts, counts) : [];
  const indexes = await checkBtreeIndexes(sql);
  const actualVersion = await readSchemaVersion(sql);
  const [size] = await sql<{ bytes: string }[]>`select pg_database_size(current_database())::text as bytes`;

  const problems = [
    ...mismatches.map(
      (m) =>
        `${m.table}: ${m.actual === null ? 'missing' : `${m.actual} rows`}, the source had ${m.expected}`,
    ),
    ...indexes.failures.map((f) => `index ${f.index} failed amcheck: ${f.error}`),
    ...(actualVersion === expected.schemaVersion
      ? []
      : [`schema_migrations is at ${actualVersion}, the source was at ${expected.schemaVersion}`]),
  ];
  return {
    ok: problems.length === 0,
    problems,
    tablesChecked: tables.length,
    counts,
    mismatches,
    indexes,
    schemaVersion: { expected: expected.schemaVersion, actual: actualVersion },
    databaseBytes: Number(size!.bytes),
  };
}
