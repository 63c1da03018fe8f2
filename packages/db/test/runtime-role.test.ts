import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../testing/src';
import { type Database, withTenant } from '../src';

// The runtime role is DML-only: every statement below must be refused by PostgreSQL itself.
const FORBIDDEN: [string, string][] = [
  ['create a table', 'create table evil (id int)'],
  ['create a table in another schema', 'create schema evil'],
  ['create a temporary table', 'create temporary table evil (id int)'],
  ['create a function', 'create function evil() returns int language sql as $$ select 1 $$'],
  ['create an index', 'create index evil_idx on notes (body)'],
  ['alter a table', 'alter table notes add column evil text'],
  ['disable row-level security', 'alter table notes disable row level security'],
  ['drop a policy', 'drop policy notes_tenant on notes'],
  ['drop a table', 'drop table notes'],
  ['truncate a table', 'truncate notes'],
  ['truncate the tenant root', 'truncate user_sessions cascade'],
  ['become the owner role', 'set role tenantmesh_owner'],
  [
    'change the migrations table',
    "insert into schema_migrations (version, name, checksum) values (999, 'evil', 'x')",
  ],
];

describe('the runtime role', () => {
  let testDb: TestDatabase;
  let owner: Database;
  let runtime: Database;
  let uid: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    owner = testDb.connectOwner();
    runtime = testDb.connectRuntime();
    const [row] = await owner.sql<{ id: string }[]>`
      insert into user_sessions (provider, subject) values ('test', 'alice') returning id`;
    uid = row!.id;
  });
  afterAll(async () => {
    await runtime.close();
    await owner.close();
    await testDb.drop();
  });

  it.each(FORBIDDEN)('cannot %s', async (_what, statement) => {
    await expect(runtime.sql.unsafe(statement)).rejects.toMatchObject({
      code: expect.stringMatching(/^(42501|42P17)$/), // insufficient_privilege (or owner-only)
    });
  });

  it('cannot UPDATE user_sessions.is_admin, even on its own row', async () => {
    await expect(
      withTenant(runtime.db, uid, (trx) =>
        sql`update user_sessions set is_admin = true where id = ${uid}`.execute(trx),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    const [row] = await owner.sql<
      { is_admin: boolean }[]
    >`select is_admin from user_sessions where id = ${uid}`;
    expect(row!.is_admin).toBe(false);
  });

  it('can still update the columns it is granted (so the refusal above is about is_admin)', async () => {
    await withTenant(runtime.db, uid, (trx) =>
      trx.updateTable('user_sessions').set({ display_name: 'Alice' }).where('id', '=', uid).execute(),
    );
    const [row] = await owner.sql<
      { display_name: string }[]
    >`select display_name from user_sessions where id = ${uid}`;
    expect(row!.display_name).toBe('Alice');
  });

  it('is not a superuser and owns nothing', async () => {
    const [role] = await runtime.sql<
      { rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean }[]
    >`
      select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = current_user`;
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false });
    const owned = await runtime.sql`
      select c.relname from pg_class c join pg_roles r on r.oid = c.relowner
      where r.rolname in (current_user, 'tenantmesh_runtime') and c.relnamespace = 'public'::regnamespace`;
    expect(owned).toHaveLength(0);
  });
});
