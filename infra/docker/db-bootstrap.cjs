// One-shot database bootstrap for docker compose (the `db-bootstrap` service): creates the
// tenantmesh roles and database as the cluster superuser, with bootstrapDatabase from
// @tenantmesh/db — the runbook's "Bootstrap a database" step, idempotent (re-running repairs role
// attributes and resets the passwords to the files' values). Runs inside a service image, whose
// node_modules hold @tenantmesh/db: `node /app/db-bootstrap.cjs` (mounted there read-only).
// Migrations are NOT run here: the services apply them at boot as the owner role.
//
// Environment: DATABASE_ADMIN_URL (postgres://host:port/postgres, no password),
// DATABASE_ADMIN_USER (postgres), DATABASE_NAME (tenantmesh), DATABASE_RUNTIME_USER
// (tenantmesh_app), SECRETS_DIR (/run/secrets) holding pg_superuser_password, db_owner_password,
// db_runtime_password. BOOTSTRAP_WAIT_SECONDS (60): how long to wait for the server to answer.
const fs = require('node:fs');
const path = require('node:path');
const { bootstrapDatabase, connectSql } = require('@tenantmesh/db');

const env = process.env;
const secretsDir = env.SECRETS_DIR || '/run/secrets';
const readSecret = (name) => fs.readFileSync(path.join(secretsDir, name), 'utf8').trim();

async function waitForServer(sql, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function main() {
  const admin = connectSql({
    url: env.DATABASE_ADMIN_URL || 'postgres://postgres:5432/postgres',
    user: env.DATABASE_ADMIN_USER || 'postgres',
    password: readSecret('pg_superuser_password'),
    max: 1,
    name: 'tenantmesh-bootstrap',
  });
  try {
    await waitForServer(admin, Number(env.BOOTSTRAP_WAIT_SECONDS) || 60);
    const database = env.DATABASE_NAME || 'tenantmesh';
    await bootstrapDatabase(admin, {
      database,
      runtimeLogin: env.DATABASE_RUNTIME_USER || 'tenantmesh_app',
      ownerPassword: readSecret('db_owner_password'),
      runtimePassword: readSecret('db_runtime_password'),
    });
    process.stdout.write(`${JSON.stringify({ msg: 'database bootstrapped', database })}\n`);
  } finally {
    await admin.end();
  }
}

main().catch((error) => {
  // Never the secret values: postgres.js errors carry the server's message, not the password.
  process.stderr.write(`db-bootstrap failed: ${error.message}\n`);
  process.exit(1);
});
