import type postgres from 'postgres';

/** Creates a user (tenant root) as the owner role: the runtime role may not insert users. */
export async function createUser(owner: postgres.Sql, subject: string): Promise<string> {
  const [row] = await owner<{ id: string }[]>`
    insert into user_sessions (provider, subject, email) values ('test', ${subject}, ${`${subject}@example.com`})
    returning id`;
  return row!.id;
}

/**
 * Writes a notebook with `count` notes for `uid` through the DML-only runtime role, as a service
 * would: one transaction with app.user_id set, so row-level security applies. Bodies are
 * `<phase>-<n>`, so a restore can be checked note by note. Resolves after COMMIT.
 */
export async function writeNotes(
  runtime: postgres.Sql,
  uid: string,
  phase: string,
  count: number,
): Promise<void> {
  await runtime.begin(async (tx) => {
    await tx`select set_config('app.user_id', ${uid}, true)`;
    const [notebook] = await tx<{ id: string }[]>`
      insert into notebooks (user_id, title) values (${uid}, ${`notebook ${phase}`}) returning id`;
    await tx`
      insert into notes (user_id, notebook_id, body)
      select ${uid}, ${notebook!.id}, ${phase} || '-' || g from generate_series(1, ${count}::int) g`;
  });
}
