import { createTestDatabase, type TestDatabase } from '../../testing/src';
import type { Database } from '../src';

/**
 * The rules every tenant table follows, checked against the migrated schema. A new migration
 * that adds a table with user_id and forgets one of them fails here.
 */
describe('schema invariants for tenant tables', () => {
  let testDb: TestDatabase;
  let owner: Database;
  let tenantTables: string[];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    owner = testDb.connectOwner();
    tenantTables = (
      await owner.sql<{ table_name: string }[]>`
        select c.table_name from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where c.table_schema = 'public' and c.column_name = 'user_id' and t.table_type = 'BASE TABLE'
        order by 1`
    ).map((r) => r.table_name);
  });
  afterAll(async () => {
    await owner.close();
    await testDb.drop();
  });

  it('finds the tenant tables (the checks below are not vacuous)', () => {
    expect(tenantTables.length).toBeGreaterThanOrEqual(2);
  });

  it('every user_id column is NOT NULL and references user_sessions(id) ON DELETE CASCADE', async () => {
    const rows = await owner.sql<{ table_name: string; not_null: boolean; fk: boolean }[]>`
      select cls.relname as table_name, att.attnotnull as not_null,
        exists (
          select 1 from pg_constraint con
          where con.conrelid = cls.oid and con.contype = 'f'
            and con.confrelid = 'user_sessions'::regclass
            and con.conkey = array[att.attnum]::int2[]
            and con.confkey = array[(select attnum from pg_attribute where attrelid = 'user_sessions'::regclass and attname = 'id')]::int2[]
            and con.confdeltype = 'c'
        ) as fk
      from pg_class cls join pg_attribute att on att.attrelid = cls.oid and att.attname = 'user_id'
      where cls.relname = any(${tenantTables}) and cls.relnamespace = 'public'::regnamespace`;
    expect(rows.filter((r) => !r.not_null || !r.fk).map((r) => r.table_name)).toEqual([]);
    expect(rows).toHaveLength(tenantTables.length);
  });

  it('every tenant table has row-level security enabled with a policy on user_id', async () => {
    const rows = await owner.sql<{ table_name: string; rls: boolean; policies: number }[]>`
      select cls.relname as table_name, cls.relrowsecurity as rls,
        (select count(*)::int from pg_policies p
          where p.schemaname = 'public' and p.tablename = cls.relname
            and p.qual like '%user_id%app.user_id%'
            and coalesce(p.with_check, p.qual) like '%user_id%app.user_id%') as policies
      from pg_class cls
      where cls.relname = any(${tenantTables}) and cls.relnamespace = 'public'::regnamespace`;
    expect(rows.filter((r) => !r.rls || r.policies < 1).map((r) => r.table_name)).toEqual([]);
    expect(rows).toHaveLength(tenantTables.length);
  });

  it('every tenant table has an index leading with user_id', async () => {
    const rows = await owner.sql<{ table_name: string; indexed: boolean }[]>`
      select cls.relname as table_name,
        exists (
          select 1 from pg_index i
          where i.indrelid = cls.oid
            and i.indkey[0] = (select attnum from pg_attribute where attrelid = cls.oid and attname = 'user_id')
        ) as indexed
      from pg_class cls
      where cls.relname = any(${tenantTables}) and cls.relnamespace = 'public'::regnamespace`;
    expect(rows.filter((r) => !r.indexed).map((r) => r.table_name)).toEqual([]);
    expect(rows).toHaveLength(tenantTables.length);
  });

  it('the tenant root itself has row-level security', async () => {
    const [row] = await owner.sql<
      { rls: boolean }[]
    >`select relrowsecurity as rls from pg_class where oid = 'user_sessions'::regclass`;
    expect(row!.rls).toBe(true);
  });

  it('the runtime role has no privilege on any table beyond DML', async () => {
    const rows = await owner.sql<{ privilege_type: string }[]>`
      select distinct privilege_type from information_schema.role_table_grants
      where grantee = 'tenantmesh_runtime' and table_schema = 'public'`;
    for (const r of rows) expect(['SELECT', 'INSERT', 'UPDATE', 'DELETE']).toContain(r.privilege_type);
  });
});
