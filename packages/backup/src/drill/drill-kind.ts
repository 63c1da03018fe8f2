import type postgres from 'postgres';
import type { BackupSettings, DrillKind } from '../config';
import type { RestoreTarget } from '../pgbackrest/restore-backup';
import type { Expectation } from '../verify/verify-restore';
import type { DrillResult } from './drill-result';
import type { PreparedDrill } from './prepare-drill';
import { restoreAndVerify } from './restore-and-verify';

/**
 * One kind of drill restore, judged against the page's objectives:
 *   latest — the newest backup set exactly as taken (is the newest backup whole and readable?);
 *   pitr   — a backup plus WAL replayed to the captured target (is the WAL chain whole, and is
 *            recovery exact to the transaction?), compared row for row with the source.
 * Never throws: a failure is a result with ok = false and the reason in detail.error.
 */
export async function drillKind(
  kind: DrillKind,
  source: postgres.Sql,
  prepared: PreparedDrill,
  settings: BackupSettings,
): Promise<DrillResult> {
  const startedAt = new Date();
  const { lag, state } = prepared;
  let targetTime: string | null = null;
  let backupLabel: string | null = null;
  try {
    const plan = await planRestore(kind, source, prepared);
    targetTime = plan.targetTime;
    backupLabel = plan.target.set;
    const outcome = await restoreAndVerify({
      settings,
      owner: prepared.owner,
      database: state.database,
      target: plan.target,
      expected: plan.expected,
    });
    const problems = [...outcome.verification.problems];
    if (outcome.seconds > settings.rtoObjectiveSeconds)
      problems.push(
        `restore took ${outcome.seconds} s, over the RTO objective of ${settings.rtoObjectiveSeconds} s`,
      );
    if (lag.rpoSeconds === null) problems.push('the primary has never archived a WAL segment');
    else if (lag.rpoSeconds > settings.rpoObjectiveSeconds)
      problems.push(
        `archiving trails by ${lag.rpoSeconds} s, over the RPO objective of ${settings.rpoObjectiveSeconds} s`,
      );
    const { verification } = outcome;
    return {
      kind,
      startedAt,
      finishedAt: new Date(),
      targetTime,
      backupLabel,
      ok: problems.length === 0,
      rtoSeconds: outcome.seconds,
      rpoSeconds: lag.rpoSeconds,
      tablesChecked: verification.tablesChecked,
      detail: {
        problems,
        phases: outcome.phases,
        database: state.database,
        databaseBytes: verification.databaseBytes,
        backup: prepared.backups.find((b) => b.label === backupLabel),
        counts: verification.counts,
        countsCompared: plan.expected.counts !== undefined,
        mismatches: verification.mismatches,
        indexesChecked: verification.indexes.checked,
        indexFailures: verification.indexes.failures,
        schemaVersion: verification.schemaVersion,
        archive: lag,
        markerArchiveSeconds: prepared.markerArchiveSeconds,
      },
    };
  } catch (error) {
    const finishedAt = new Date();
    return {
      kind,
      startedAt,
      finishedAt,
      targetTime,
      backupLabel,
      ok: false,
      rtoSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      rpoSeconds: lag.rpoSeconds,
      tablesChecked: 0,
      detail: { error: (error as Error).message, archive: lag },
    };
  }
}

async function planRestore(
  kind: DrillKind,
  source: postgres.Sql,
  { backups, state }: PreparedDrill,
): Promise<{ target: RestoreTarget; targetTime: string; expected: Expectation }> {
  if (kind === 'pitr') {
    // The newest backup that had finished before the target (timestamps are whole seconds).
    const targetMs = Date.parse(state.targetTime.replace(' ', 'T').replace(/\+00$/, 'Z'));
    const base = backups.filter((b) => b.stoppedAt.getTime() + 1000 <= targetMs).at(-1);
    if (!base) throw new Error(`no backup finished before the target ${state.targetTime}`);
    return {
      target: { kind: 'pitr', set: base.label, time: state.targetTime },
      targetTime: state.targetTime,
      expected: { counts: state.counts, schemaVersion: state.schemaVersion },
    };
  }
  const newest = backups.at(-1)!;
  // Row counts at the moment a backup finished are not recorded anywhere, so this kind checks
  // readability, indexes and the schema version the source had when the backup finished.
  const [row] = await source<{ version: number }[]>`
    select coalesce(max(version), 0)::int as version from schema_migrations where applied_at <= ${newest.stoppedAt}`;
  return {
    target: { kind: 'latest', set: newest.label },
    targetTime: newest.stoppedAt.toISOString(),
    expected: { schemaVersion: row!.version },
  };
}
