// Operator command (`pnpm drill`): restore the latest backup and a point-in-time target into
// throwaway clusters, verify them, record the results in backup_drills, exit 1 on any failure.
//   DATABASE_URL=postgres://host:5432/tenantmesh node packages/backup/dist/drill.js
// Settings: packages/backup/README.md. Scheduled weekly by infra/k8s/backup/restore-drill-cronjob.yaml.
// With DRILL_METRICS_FILE it also writes the drill's state for node_exporter's textfile collector
// (alerts RestoreDrillFailed and RestoreDrillOverdue in infra/observability/prometheus/alerts.yml).
import { connectSql } from '@tenantmesh/db';
import { loadDrillConfig } from './config';
import { findLatestDrills } from './db/find-latest-drills';
import { recordDrill } from './db/record-drill';
import { drillExitCode } from './drill/drill-exit-code';
import { runDrill } from './drill/run-drill';
import { drillMetricsText } from './metrics/drill-metrics';
import { writeTextfile } from './metrics/textfile';

async function main(): Promise<number> {
  const config = loadDrillConfig(process.env);
  if (process.getuid?.() === 0 && !config.backup.runAs) {
    throw new Error(
      'running as root: set BACKUP_RUN_AS to the OS user that owns PostgreSQL (PostgreSQL refuses root)',
    );
  }
  // Two connections at least: the capture holds one while a second imports its snapshot.
  const source = connectSql({
    url: config.db.url,
    user: config.db.ownerUser,
    password: config.secrets.dbOwnerPassword,
    max: 3,
    name: 'tenantmesh-restore-drill',
  });
  try {
    const results = await runDrill(source, config.backup);
    for (const result of results) {
      const id = await recordDrill(source, result);
      const { detail, ...summary } = result;
      process.stdout.write(
        `${JSON.stringify({ msg: result.ok ? 'drill passed' : 'drill FAILED', id, ...summary, problems: detail.problems ?? [detail.error] })}\n`,
      );
    }
    // After recording, from the table: a failed run still reports the last success. A file that
    // cannot be written fails the command, since alerting would silently go stale.
    if (config.metrics.file)
      await writeTextfile(config.metrics.file, drillMetricsText(await findLatestDrills(source)));
    return drillExitCode(results);
  } finally {
    await source.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`drill failed: ${error.message}\n`);
    process.exit(1);
  },
);
