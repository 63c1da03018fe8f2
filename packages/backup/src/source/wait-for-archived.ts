import type postgres from 'postgres';

/**
 * Waits until pg_stat_archiver reports `walFile` (or a later segment) archived: the primary's own
 * word that archive_command succeeded for it. Segment names of one timeline sort in WAL order.
 * Resolves with how long that took.
 */
export async function waitForArchived(
  sql: postgres.Sql,
  walFile: string,
  timeoutSeconds: number,
): Promise<number> {
  const started = Date.now();
  const segment = walFile.slice(0, 24);
  for (;;) {
    const [row] = await sql<{ wal: string | null }[]>`select last_archived_wal as wal from pg_stat_archiver`;
    const archived = row!.wal?.slice(0, 24);
    if (archived && archived.slice(0, 8) === segment.slice(0, 8) && archived >= segment) {
      return (Date.now() - started) / 1000;
    }
    if (Date.now() - started > timeoutSeconds * 1000) {
      throw new Error(
        `WAL segment ${segment} was not archived within ${timeoutSeconds} s (last archived: ${row!.wal ?? 'none'}); check archive_command and pg_stat_archiver.failed_count`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
