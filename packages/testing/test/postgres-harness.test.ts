import { createTestDatabase, withAdminSql } from '../src';

describe('the PostgreSQL test harness', () => {
  it('gives each test file its own migrated database', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      expect(a.name).not.toBe(b.name);
      const owner = a.connectOwner();
      try {
        const rows = await owner.sql<{ version: number }[]>`select version from schema_migrations`;
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await owner.close();
      }
    } finally {
      await a.drop();
      await b.drop();
    }
  });

  it('fails drop() while a pool the test opened is still connected, so a leaked pool is a red test', async () => {
    const db = await createTestDatabase();
    const leaked = db.connectRuntime(1);
    await leaked.sql`select 1`;
    try {
      await expect(db.drop()).rejects.toThrow(/did the test close every pool it opened/);
    } finally {
      await leaked.close();
      await db.drop();
    }
    const [row] = await withAdminSql(
      (sql) => sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${db.name}`,
    );
    expect(row!.n).toBe(0);
  }, 20_000);
});
