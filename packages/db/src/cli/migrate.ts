// Operator command: apply pending migrations as the owner role, then exit.
//   DATABASE_URL=postgres://host:5432/tenantmesh node packages/db/dist/cli/migrate.js
// Services also migrate at boot (DATABASE_MIGRATE_ON_BOOT); this is for deploy pipelines.
import { loadConfig } from '@tenantmesh/config';
import { connectSql } from '../connect';
import { runMigrations } from '../migrate';
import { databaseSecrets, databaseSettings } from '../settings';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { settings: { db: databaseSettings }, secrets: databaseSecrets });
  const sql = connectSql({
    url: config.db.url,
    user: config.db.ownerUser,
    password: config.secrets.dbOwnerPassword,
    max: 1,
    name: 'tenantmesh-migrate',
  });
  try {
    const result = await runMigrations(sql);
    process.stdout.write(`${JSON.stringify({ msg: 'migrations done', ...result })}\n`);
  } finally {
    await sql.end();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`migrate failed: ${error.message}\n`);
  process.exit(1);
});
