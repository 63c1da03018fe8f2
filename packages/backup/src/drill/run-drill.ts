import type postgres from 'postgres';
import type { BackupSettings } from '../config';
import { drillKind } from './drill-kind';
import type { DrillResult } from './drill-result';
import { type PreparedDrill, prepareDrill } from './prepare-drill';

/**
 * The restore drill: measure archiving, capture a target from the live database, then for each
 * configured kind restore into a throwaway cluster and verify it. Returns one result per kind;
 * when the preparation itself fails (no backup, archiving broken), every kind fails with that
 * reason, so the failure is recorded rather than lost.
 */
export async function runDrill(source: postgres.Sql, settings: BackupSettings): Promise<DrillResult[]> {
  const startedAt = new Date();
  let prepared: PreparedDrill;
  try {
    prepared = await prepareDrill(source, settings);
  } catch (error) {
    const finishedAt = new Date();
    return settings.kinds.map((kind) => ({
      kind,
      startedAt,
      finishedAt,
      targetTime: null,
      backupLabel: null,
      ok: false,
      rtoSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      rpoSeconds: null,
      tablesChecked: 0,
      detail: { error: `preparing the drill failed: ${(error as Error).message}` },
    }));
  }
  const results: DrillResult[] = [];
  // One after the other: each restore is timed alone, and two copies need twice the disk.
  for (const kind of settings.kinds) results.push(await drillKind(kind, source, prepared, settings));
  return results;
}
