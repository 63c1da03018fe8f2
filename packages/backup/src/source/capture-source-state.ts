import type postgres from 'postgres';
import { countRows, type RowCounts } from '../verify/count-rows';
import { listTables } from '../verify/list-tables';
import { readSchemaVersion } from '../verify/read-schema-version';

export interface SourceState {
  database: string;
  /** The recovery target: when the snapshot was taken, in UTC with microseconds. */
  targetTime: string;
  /** Rows per table as of targetTime. */
  counts: RowCounts;
  schemaVersion: number;
  /**
   * The WAL file holding the commit that closed the capture. Recovery to targetTime stops only
   * when it reads a commit stamped after the target, so that commit must reach the archive.
   */
  markerWalFile: string;
}

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i;

/**
 * Captures what a restore to "now" must contain: row counts per table and the schema version,
 * from one snapshot, plus the exact timestamp that snapshot corresponds to.
 *
 * A snapshot and a timestamp taken side by side disagree about transactions committing in
 * between. So writers are paused — SHARE locks on every table, which wait for in-flight writes
 * to commit — only long enough to export a snapshot and read the clock; a second connection
 * imports the snapshot and counts at leisure after the locks are gone. Every commit visible in
 * the snapshot is then stamped before the target, and every later one after it.
 *
 * `sql` must allow two connections. Runs as the owner role (it owns, so it may lock and read,
 * every table; as the owner it is not subject to row-level security).
 */
export async function captureSourceState(
  sql: postgres.Sql,
  options: { lockTimeoutMs: number },
): Promise<SourceState> {
  const tables = await listTables(sql);
  const exported = deferred<{ snapshot: string; target: string }>();
  const imported = deferred<void>();

  // READ COMMITTED on purpose: the exported snapshot is the one of the statement that runs after
  // the locks are held, not one taken before them.
  const holding = sql.begin(async (tx) => {
    // A lock that cannot be had quickly is given up: writers would queue behind our request.
    await tx`select set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true)`;
    if (tables.length > 0) await tx.unsafe(`lock table ${tables.join(', ')} in share mode`);
    // txid_current() gives this transaction an id, so its COMMIT is a WAL record stamped after
    // the target: the marker at which recovery knows it has gone far enough.
    const [row] = await tx<{ snapshot: string; target: string }[]>`
      select pg_export_snapshot() as snapshot,
        to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as target,
        txid_current() as xid`;
    exported.resolve(row!);
    await imported.promise;
  });
  holding.catch((error: unknown) => exported.reject(error));

  try {
    const { snapshot, target } = await exported.promise;
    if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
    const state = await sql.begin('isolation level repeatable read read only', async (tx) => {
      await tx.unsafe(`set transaction snapshot '${snapshot}'`);
      imported.resolve();
      const counts = await countRows(tx, tables);
      const schemaVersion = await readSchemaVersion(tx);
      const [db] = await tx<{ name: string }[]>`select current_database() as name`;
      return { database: db!.name, targetTime: target, counts, schemaVersion };
    });
    await holding;
    const [wal] = await sql<{ file: string }[]>`select pg_walfile_name(pg_current_wal_lsn()) as file`;
    return { ...state, markerWalFile: wal!.file };
  } finally {
    imported.resolve();
    await holding.catch(() => {});
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}
