import type { DrillKind } from '../config';

/** One restore the drill performed, as recorded in backup_drills. */
export interface DrillResult {
  kind: DrillKind;
  startedAt: Date;
  finishedAt: Date;
  /** pitr: the recovery target; latest: when the restored backup finished. */
  targetTime: string | null;
  backupLabel: string | null;
  ok: boolean;
  /** Restore + start + recovery + verification, wall time. */
  rtoSeconds: number;
  rpoSeconds: number | null;
  tablesChecked: number;
  detail: Record<string, unknown>;
}
