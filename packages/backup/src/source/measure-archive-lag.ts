import type postgres from 'postgres';

export interface ArchiveLag {
  /**
   * How long committed work has been only on the primary: now − last archived time while WAL
   * written after the last archived segment is waiting, 0 when everything written is archived
   * (an idle database is not behind, however long ago its last segment went), null when
   * nothing was ever archived.
   */
  rpoSeconds: number | null;
  /** now − pg_stat_archiver.last_archived_time, as it stands. */
  sinceLastArchivedSeconds: number | null;
  unarchivedBytes: number | null;
  lastArchivedWal: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: Date | null;
}

interface ArchiverRow {
  last_archived_wal: string | null;
  since_last_archived: number | null;
  failed_count: string;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
  current_lsn: string;
  segment_bytes: string;
}

/** Reads pg_stat_archiver (readable by any role) to see how far archiving trails the primary. */
export async function measureArchiveLag(sql: postgres.Sql): Promise<ArchiveLag> {
  const [row] = await sql<ArchiverRow[]>`
    select last_archived_wal,
      extract(epoch from now() - last_archived_time)::float8 as since_last_archived,
      failed_count::text, last_failed_wal, last_failed_time,
      pg_current_wal_lsn()::text as current_lsn,
      pg_size_bytes(current_setting('wal_segment_size'))::text as segment_bytes
    from pg_stat_archiver`;
  const r = row!;
  const segmentEnd = r.last_archived_wal ? walSegmentEnd(r.last_archived_wal, BigInt(r.segment_bytes)) : null;
  const unarchived = segmentEnd === null ? null : lsnToBigInt(r.current_lsn) - segmentEnd;
  const unarchivedBytes = unarchived === null ? null : Number(unarchived > 0n ? unarchived : 0n);
  return {
    rpoSeconds: unarchivedBytes === null ? null : unarchivedBytes > 0 ? r.since_last_archived : 0,
    sinceLastArchivedSeconds: r.since_last_archived,
    unarchivedBytes,
    lastArchivedWal: r.last_archived_wal,
    failedCount: Number(r.failed_count),
    lastFailedWal: r.last_failed_wal,
    lastFailedTime: r.last_failed_time,
  };
}

/** 'X/Y' → byte position. */
export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/**
 * The byte position just after a WAL segment, from its file name (TTTTTTTTXXXXXXXXYYYYYYYY:
 * timeline, then the segment number split in two). Also accepts the name of a backup history
 * file (segment.offset.backup), which is archived right after its segment.
 */
export function walSegmentEnd(fileName: string, segmentBytes: bigint): bigint | null {
  const match = /^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})/i.exec(fileName);
  if (!match) return null; // a timeline history file names no segment
  const segmentsPerId = 0x1_0000_0000n / segmentBytes;
  const segment = BigInt(`0x${match[1]}`) * segmentsPerId + BigInt(`0x${match[2]}`);
  return (segment + 1n) * segmentBytes;
}
