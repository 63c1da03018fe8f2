// Operator command (`pnpm drill:status`): the latest successful restore drill — date, RTO, RPO,
// kind — read from backup_drills as the owner role. Exits 1 when there is none, or when a drill
// failed after it, so it can gate a release or page someone.
//   DATABASE_URL=postgres://host:5432/tenantmesh node packages/backup/dist/drill-status.js
import { connectSql } from '@tenantmesh/db';
import { loadStatusConfig } from './config';
import { findLatestDrills } from './db/find-latest-drills';
import { formatDrillStatus } from './format-drill-status';

async function main(): Promise<number> {
  const config = loadStatusConfig(process.env);
  const sql = connectSql({
    url: config.db.url,
    user: config.db.ownerUser,
    password: config.secrets.dbOwnerPassword,
    max: 2,
    name: 'tenantmesh-drill-status',
  });
  try {
    const status = formatDrillStatus(await findLatestDrills(sql));
    process.stdout.write(status.text);
    return status.exitCode;
  } finally {
    await sql.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`drill:status failed: ${error.message}\n`);
    process.exit(1);
  },
);
