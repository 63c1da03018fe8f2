import { spawn } from 'node:child_process';
import path from 'node:path';
import { createEmptyDatabase, type TestDatabase } from '../../testing/src';
import { connectSql, readMigrations, runMigrations } from '../src';

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'migrate.js');

function migrateInChildProcess(db: TestDatabase): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, SECRETS_DIR: '/nonexistent' },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for both migrators to block');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createEmptyDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('two processes migrating the same database at once both succeed and apply each migration once', async () => {
    // Make the race certain: an uncommitted CREATE TABLE schema_migrations holds both migrators
    // at their first step until both are waiting, then lets them go together.
    const gate = connectSql({ url: db.url, user: db.ownerUser, max: 2 });
    const conn = await gate.reserve();
    let results: { code: number | null; output: string }[];
    try {
      await conn`begin`;
      await conn`create table schema_migrations (version integer)`;
      const running = Promise.all([migrateInChildProcess(db), migrateInChildProcess(db)]);
      await waitFor(async () => {
        const [row] = await gate<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = ${db.name} and application_name = 'tenantmesh-migrate' and wait_event_type = 'Lock'`;
        return row!.n === 2;
      });
      await conn`rollback`;
      results = await running;
    } finally {
      conn.release();
      await gate.end();
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    expect(a).toMatchObject({ code: 0 });
    expect(b).toMatchObject({ code: 0 });
    const outputs = [a.output, b.output].map((o) => JSON.parse(o) as { applied: number[] });
    const versions = readMigrations().map((m) => m.version);
    // One process applied everything, the other found nothing pending.
    expect(outputs.map((o) => o.applied.length).sort()).toEqual([0, versions.length]);
    const sql = connectSql({ url: db.url, user: db.ownerUser, max: 1 });
    try {
      const rows = await sql<{ version: number }[]>`select version from schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual(versions);
    } finally {
      await sql.end();
    }
  });

  it('refuses to run when an applied migration has been edited', async () => {
    const sql = connectSql({ url: db.url, user: db.ownerUser, max: 1 });
    try {
      const migrations = readMigrations();
      await runMigrations(sql, migrations);
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
      await expect(runMigrations(sql, edited)).rejects.toThrow(/was edited after it was applied/);
    } finally {
      await sql.end();
    }
  });

  it('migrations are owned by the owner role, not the runtime role', async () => {
    const sql = connectSql({ url: db.url, user: db.ownerUser, max: 1 });
    try {
      await runMigrations(sql);
      const owners = await sql<
        { tableowner: string }[]
      >`select distinct tableowner from pg_tables where schemaname = 'public'`;
      expect(owners.map((o) => o.tableowner)).toEqual([db.ownerUser]);
    } finally {
      await sql.end();
    }
  });
});
