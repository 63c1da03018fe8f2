// What every benchmark under bench/ needs around its measurements: a throwaway database made the way
// the test harness and `pnpm start` make one, and a cleanup that runs once, whatever ends the run.
// `db` is @tenantmesh/db as the calling benchmark resolved it (each resolves from its own service).

/** A one-connection superuser pool on the admin URL's database (postgres://user[:pass]@host:port/db). */
export function connectAdmin(db, adminUrl) {
  const url = new URL(adminUrl);
  return db.connectSql({
    url: `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`,
    user: decodeURIComponent(url.username) || 'postgres',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    max: 1,
  });
}

/**
 * Creates database `name` (roles, owned by the owner role: db.bootstrapDatabase), migrates it as the
 * owner, and pushes its forced drop onto `cleanups`. Returns its password-less URL.
 */
export async function createBenchDatabase({ db, adminUrl, name, cleanups }) {
  const admin = connectAdmin(db, adminUrl);
  try {
    await db.bootstrapDatabase(admin, { database: name, runtimeLogin: db.DEFAULT_RUNTIME_LOGIN });
  } finally {
    await admin.end();
  }
  cleanups.push(async () => {
    const sql = connectAdmin(db, adminUrl);
    try {
      await sql.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await sql.end();
    }
  });
  const server = new URL(adminUrl);
  const url = `postgres://${server.hostname}:${server.port || 5432}/${name}`;
  const owner = db.connectSql({ url, user: db.OWNER_ROLE, max: 1 });
  try {
    await db.runMigrations(owner);
  } finally {
    await owner.end();
  }
  return url;
}

/**
 * Runs `main`, then the `cleanups` steps in reverse, once: after success or failure, on Ctrl-C or
 * SIGTERM, when stdout closes (`| head`) and on a stray exception, so no process, database or
 * temporary directory the benchmark made is left behind. A failure after a signal is not reported
 * (it is the cleanup pulling things from under the run).
 */
export function runBench(main, cleanups) {
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        try {
          await step();
        } catch (error) {
          process.stderr.write(`cleanup: ${error.message}\n`);
        }
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up\n`);
      cleanup().finally(() => process.exit(130));
    });
  }
  process.stdout.on('error', () => cleanup().finally(() => process.exit(1)));
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
    cleanup().finally(() => process.exit(1));
  });
  main()
    .catch((error) => {
      process.exitCode = 1;
      if (!cleaning) process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
    })
    .finally(cleanup);
}
