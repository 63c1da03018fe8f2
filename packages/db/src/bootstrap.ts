import type postgres from 'postgres';
import { OWNER_ROLE, RUNTIME_GROUP_ROLE } from './roles';

export interface BootstrapOptions {
  database: string;
  ownerPassword?: string;
  runtimeLogin: string;
  runtimePassword?: string;
}

const BOOTSTRAP_LOCK_KEY = 7_146_339_000;
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates the roles and the database, idempotently. Runs as a superuser (or CREATEROLE +
 * CREATEDB) — the operator's one-time step, or `pnpm start`'s embedded Postgres.
 *   tenantmesh_owner    LOGIN, owns the database and every object in it; runs migrations.
 *   tenantmesh_runtime  NOLOGIN group: the DML-only grants (made by the migrations).
 *   <runtimeLogin>      LOGIN, member of tenantmesh_runtime; what services use at runtime.
 * Roles are cluster-wide, so creation is serialised with an advisory lock.
 */
export async function bootstrapDatabase(admin: postgres.Sql, options: BootstrapOptions): Promise<void> {
  for (const name of [options.database, options.runtimeLogin]) {
    if (!IDENT.test(name)) throw new Error(`"${name}" is not a plain lower-case SQL identifier`);
  }
  const { database, runtimeLogin } = options;
  await ensureRoles(admin, options);
  const exists = await admin`select 1 from pg_database where datname = ${database}`;
  if (exists.length === 0) {
    try {
      await admin.unsafe(`create database ${database} owner ${OWNER_ROLE}`);
    } catch (error) {
      // Another bootstrap created it between our check and create.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  }
  await secureDatabase(admin, database, runtimeLogin);
}

/** Creates (or updates the passwords of) the three roles. Safe to call concurrently. */
export async function ensureRoles(
  admin: postgres.Sql,
  options: Pick<BootstrapOptions, 'ownerPassword' | 'runtimeLogin' | 'runtimePassword'>,
): Promise<void> {
  if (!IDENT.test(options.runtimeLogin))
    throw new Error(`"${options.runtimeLogin}" is not a plain lower-case SQL identifier`);
  await admin.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`;
    const have = new Set(
      (
        await tx<
          { rolname: string }[]
        >`select rolname from pg_roles where rolname in (${OWNER_ROLE}, ${RUNTIME_GROUP_ROLE}, ${options.runtimeLogin})`
      ).map((r) => r.rolname),
    );
    // The owner must INHERIT: in PostgreSQL 15 it uses the public schema through its implicit
    // membership of pg_database_owner.
    const attributes: [string, string][] = [
      [OWNER_ROLE, 'login inherit nosuperuser nocreatedb nocreaterole nobypassrls'],
      [RUNTIME_GROUP_ROLE, 'nologin noinherit nosuperuser nocreatedb nocreaterole nobypassrls'],
      [options.runtimeLogin, 'login inherit nosuperuser nocreatedb nocreaterole nobypassrls'],
    ];
    for (const [role, attrs] of attributes) {
      // Existing roles are brought back to exactly these attributes, so drift is repaired.
      await tx.unsafe(`${have.has(role) ? 'alter' : 'create'} role ${role} ${attrs}`);
    }
    await tx.unsafe(`grant ${RUNTIME_GROUP_ROLE} to ${options.runtimeLogin}`);
    // Passwords go through format(%L) server-side, never into our SQL text or logs.
    if (options.ownerPassword !== undefined) await setPassword(tx, OWNER_ROLE, options.ownerPassword);
    if (options.runtimePassword !== undefined)
      await setPassword(tx, options.runtimeLogin, options.runtimePassword);
  });
}

/**
 * Database-level privileges are not copied by CREATE DATABASE … TEMPLATE, so every database
 * (including each test clone) gets them here: no one but the owner may create schemas or
 * temporary tables; the runtime login may connect.
 */
export async function secureDatabase(
  admin: postgres.Sql,
  database: string,
  runtimeLogin: string,
): Promise<void> {
  if (!IDENT.test(database) || !IDENT.test(runtimeLogin))
    throw new Error('database and role must be plain lower-case SQL identifiers');
  await admin.unsafe(`revoke all on database ${database} from public`);
  await admin.unsafe(`grant connect on database ${database} to ${RUNTIME_GROUP_ROLE}`);
  await admin.unsafe(`grant connect, temporary, create on database ${database} to ${OWNER_ROLE}`);
}

async function setPassword(tx: postgres.TransactionSql, role: string, password: string): Promise<void> {
  await tx`select 1 from (select set_config('tenantmesh.pw', ${password}, true)) s`;
  await tx.unsafe(
    `do $$ begin execute format('alter role %I password %L', '${role}', current_setting('tenantmesh.pw')); end $$`,
  );
  await tx`select set_config('tenantmesh.pw', '', true)`;
}
