export { lookUpOwner, type Owner } from './cluster/look-up-owner';
export { type RestoredCluster, startRestoredCluster } from './cluster/start-restored-cluster';
export {
  type BackupSettings,
  backupSettings,
  DRILL_KINDS,
  type DrillKind,
  drillMetricsSettings,
  loadBackupMetricsConfig,
  loadDrillConfig,
} from './config';
export { type DrillRow, findLatestDrills, type LatestDrills } from './db/find-latest-drills';
export { recordDrill } from './db/record-drill';
export { drillExitCode } from './drill/drill-exit-code';
export { drillKind } from './drill/drill-kind';
export type { DrillResult } from './drill/drill-result';
export { type PreparedDrill, prepareDrill } from './drill/prepare-drill';
export { type RestoreOutcome, restoreAndVerify } from './drill/restore-and-verify';
export { runDrill } from './drill/run-drill';
export { formatDrillStatus } from './format-drill-status';
export { backupMetricsText } from './metrics/backup-metrics';
export { drillMetricsText } from './metrics/drill-metrics';
export { formatGauges, type Gauge, type Sample, writeTextfile } from './metrics/textfile';
export { checkArchiving } from './pgbackrest/check-archiving';
export { type BackupSet, listBackups } from './pgbackrest/list-backups';
export { type RestoreTarget, restoreBackup } from './pgbackrest/restore-backup';
export { runPgbackrest } from './pgbackrest/run-pgbackrest';
export { CommandError, runCommand } from './run-command';
export { captureSourceState, type SourceState } from './source/capture-source-state';
export { type ArchiveLag, measureArchiveLag } from './source/measure-archive-lag';
export { waitForArchived } from './source/wait-for-archived';
export { type CountMismatch, compareCounts } from './verify/compare-counts';
export { countRows, type RowCounts } from './verify/count-rows';
export { type Expectation, type Verification, verifyRestore } from './verify/verify-restore';
