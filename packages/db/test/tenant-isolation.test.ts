import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../testing/src';
import { type Database, withTenant } from '../src';

describe('tenant isolation in the database', () => {
  let testDb: TestDatabase;
  let owner: Database;
  let runtime: Database;
  let alice: string;
  let bob: string;
  let bobsNotebook: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    owner = testDb.connectOwner();
    runtime = testDb.connectRuntime();
    const users = await owner.sql<{ id: string }[]>`
      insert into user_sessions (provider, subject) values ('test', 'alice'), ('test', 'bob') returning id`;
    alice = users[0]!.id;
    bob = users[1]!.id;
    for (const uid of [alice, bob]) {
      await withTenant(runtime.db, uid, async (trx) => {
        const nb = await trx
          .insertInto('notebooks')
          .values({ user_id: uid, title: `${uid} book` })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('notes')
          .values({ user_id: uid, notebook_id: nb.id, body: `secret of ${uid}` })
          .execute();
        if (uid === bob) bobsNotebook = nb.id;
      });
    }
  });
  afterAll(async () => {
    await runtime.close();
    await owner.close();
    await testDb.drop();
  });

  it('a query with no WHERE, run as uid A, sees none of uid B’s rows', async () => {
    const seen = await withTenant(runtime.db, alice, async (trx) => ({
      notes: await trx.selectFrom('notes').selectAll().execute(),
      notebooks: await trx.selectFrom('notebooks').selectAll().execute(),
      users: await trx.selectFrom('user_sessions').select('id').execute(),
    }));
    expect(seen.notes.map((n) => n.user_id)).toEqual([alice]);
    expect(seen.notebooks.map((n) => n.user_id)).toEqual([alice]);
    expect(seen.users.map((u) => u.id)).toEqual([alice]);
  });

  it('without a tenant set, the runtime role sees no tenant rows at all', async () => {
    const rows = await runtime.db.selectFrom('notes').selectAll().execute();
    expect(rows).toEqual([]);
  });

  it('the tenant setting does not leak to the next transaction on the same connection', async () => {
    const single = testDb.connectRuntime(1);
    try {
      await withTenant(single.db, alice, (trx) => trx.selectFrom('notes').selectAll().execute());
      expect(await single.db.selectFrom('notes').selectAll().execute()).toEqual([]);
    } finally {
      await single.close();
    }
  });

  it('uid A cannot insert, update or delete rows as uid B', async () => {
    await expect(
      withTenant(runtime.db, alice, (trx) =>
        trx.insertInto('notebooks').values({ user_id: bob, title: 'planted' }).execute(),
      ),
    ).rejects.toMatchObject({ code: '42501' }); // new row violates row-level security policy
    const updated = await withTenant(runtime.db, alice, (trx) =>
      trx.updateTable('notes').set({ body: 'defaced' }).where('user_id', '=', bob).executeTakeFirst(),
    );
    expect(updated.numUpdatedRows).toBe(0n);
    const deleted = await withTenant(runtime.db, alice, (trx) =>
      trx.deleteFrom('notes').where('user_id', '=', bob).executeTakeFirst(),
    );
    expect(deleted.numDeletedRows).toBe(0n);
    const [bobs] = await owner.sql<{ body: string }[]>`select body from notes where user_id = ${bob}`;
    expect(bobs!.body).toBe(`secret of ${bob}`);
  });

  it('a composite foreign key rejects a row that points at another tenant’s row', async () => {
    // Even the owner (which bypasses RLS) cannot make alice's note point into bob's notebook:
    // the schema itself forbids it.
    await expect(
      owner.sql`insert into notes (user_id, notebook_id, body) values (${alice}, ${bobsNotebook}, 'cross-tenant')`,
    ).rejects.toMatchObject({ code: '23503', constraint_name: 'notes_notebook_fk' });
  });

  it('rejects a uid that is not a UUID before touching the database', async () => {
    await expect(withTenant(runtime.db, "x' or '1'='1", async () => 1)).rejects.toThrow(TypeError);
  });

  it('deleting a user cascades to every row they own', async () => {
    const [carol] = await owner.sql<
      { id: string }[]
    >`insert into user_sessions (provider, subject) values ('test', 'carol') returning id`;
    await withTenant(runtime.db, carol!.id, async (trx) => {
      const nb = await trx
        .insertInto('notebooks')
        .values({ user_id: carol!.id, title: 'c' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx.insertInto('notes').values({ user_id: carol!.id, notebook_id: nb.id, body: 'c' }).execute();
    });
    await withTenant(runtime.db, carol!.id, (trx) =>
      sql`delete from user_sessions where id = ${carol!.id}`.execute(trx),
    );
    const [left] = await owner.sql<{ n: number }[]>`
      select (select count(*) from notes where user_id = ${carol!.id})::int + (select count(*) from notebooks where user_id = ${carol!.id})::int as n`;
    expect(left!.n).toBe(0);
  });
});
