// Operator command, run after each backup (`node packages/backup/dist/backup-metrics.js`): asks
// pgBackRest which backups exist and writes, for node_exporter's textfile collector, when the
// newest of each type finished (alert BackupFullTooOld in infra/observability/prometheus).
//   BACKUP_METRICS_FILE=/var/lib/node-exporter/textfile/backup.prom node packages/backup/dist/backup-metrics.js
import { loadBackupMetricsConfig } from './config';
import { backupMetricsText } from './metrics/backup-metrics';
import { writeTextfile } from './metrics/textfile';
import { listBackups } from './pgbackrest/list-backups';

async function main(): Promise<number> {
  const config = loadBackupMetricsConfig(process.env);
  const backups = await listBackups(config.backup);
  await writeTextfile(config.metrics.file, backupMetricsText(backups));
  process.stdout.write(
    `${JSON.stringify({ msg: 'backup metrics written', file: config.metrics.file, backups: backups.length })}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`backup-metrics failed: ${error.message}\n`);
    process.exit(1);
  },
);
