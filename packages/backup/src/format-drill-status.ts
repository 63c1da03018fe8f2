import type { DrillRow, LatestDrills } from './db/find-latest-drills';

export interface DrillStatus {
  text: string;
  /** 0 when a drill has passed and no drill of any kind failed after it; 1 otherwise. */
  exitCode: 0 | 1;
}

const when = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const secs = (s: number | null) => (s === null ? 'unknown' : `${s.toFixed(1)} s`);

/** The operator's view of backup_drills: the latest successful drill, and any failure since. */
export function formatDrillStatus({ successful, newest }: LatestDrills): DrillStatus {
  if (successful.length === 0) {
    return {
      text: `No successful restore drill on record.${newest.length ? ` ${describeFailures(newest)}` : ' Run: pnpm drill'}\n`,
      exitCode: 1,
    };
  }
  const latest = [...successful].sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime())[0]!;
  const lines = [
    `Latest successful restore drill: ${when(latest.finishedAt)} (${latest.kind})`,
    `  RTO ${secs(latest.rtoSeconds)} (restore + recovery + verification), RPO ${secs(latest.rpoSeconds)} (archive lag), ${latest.tablesChecked} tables checked`,
    'Latest successful drill of each kind:',
    ...successful.map(
      (d) =>
        `  ${d.kind.padEnd(6)}  ${when(d.finishedAt)}  RTO ${secs(d.rtoSeconds)}  RPO ${secs(d.rpoSeconds)}  tables ${d.tablesChecked}${d.targetTime ? `  target ${when(d.targetTime)}` : ''}`,
    ),
  ];
  const failedSince = newest.filter((d) => !d.ok);
  if (failedSince.length) lines.push(describeFailures(failedSince));
  return { text: `${lines.join('\n')}\n`, exitCode: failedSince.length ? 1 : 0 };
}

function describeFailures(rows: DrillRow[]): string {
  return rows
    .filter((d) => !d.ok)
    .map(
      (d) =>
        `FAILED: the newest ${d.kind} drill (${when(d.finishedAt)}): ${d.problems.join('; ') || 'see detail'}`,
    )
    .join('\n');
}
