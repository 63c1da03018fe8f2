import type { RowCounts } from './count-rows';

export interface CountMismatch {
  table: string;
  expected: number;
  /** null when the table is missing from the restored database. */
  actual: number | null;
}

/**
 * Every table of the source snapshot must be in the restored database with exactly the same
 * number of rows. Tables only in the restored database are not errors: they were created after
 * the tables were listed, and the snapshot has nothing to say about them.
 */
export function compareCounts(expected: RowCounts, actual: RowCounts): CountMismatch[] {
  const mismatches: CountMismatch[] = [];
  for (const [table, count] of Object.entries(expected)) {
    const restored = Object.hasOwn(actual, table) ? actual[table]! : null;
    if (restored !== count) mismatches.push({ table, expected: count, actual: restored });
  }
  return mismatches;
}
