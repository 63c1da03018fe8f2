import { randomBytes } from 'node:crypto';
import {
  connectDatabase,
  connectSql,
  type Database,
  DEFAULT_RUNTIME_LOGIN,
  OWNER_ROLE,
  secureDatabase,
} from '@tenantmesh/db';
import type postgres from 'postgres';
import { harnessValue, testDatabasePrefix } from './harness-env';

export interface TestDatabase {
  name: string;
  /** postgres://host:port/<name>, no credentials (the test server trusts localhost). */
  url: string;
  ownerUser: string;
  runtimeUser: string;
  /** A new pool as the DML-only runtime role. Close it before drop(). */
  connectRuntime(max?: number): Database;
  /** A new pool as the owner role (migrations, SECURITY DEFINER set-up, fixtures). */
  connectOwner(max?: number): Database;
  /**
   * Drops the database WITHOUT force: if a pool the test opened is still connected, this throws,
   * so a test that leaks a pool fails.
   */
  drop(): Promise<void>;
}

function adminSql(): postgres.Sql {
  return connectAdmin(harnessValue('adminUrl'));
}

/** A one-connection superuser pool from a URL that may carry user and password. */
export function connectAdmin(adminUrl: string): postgres.Sql {
  const url = new URL(adminUrl);
  const password = decodeURIComponent(url.password);
  return connectSql({
    url: `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`,
    user: decodeURIComponent(url.username) || 'postgres',
    ...(password ? { password } : {}),
    max: 1,
    connectTimeoutSeconds: 3,
    name: 'tenantmesh-test-harness',
  });
}

function databaseUrl(name: string): string {
  const admin = new URL(harnessValue('adminUrl'));
  return `postgres://${admin.hostname}:${admin.port || 5432}/${name}`;
}

async function createDatabase(template?: string): Promise<TestDatabase> {
  const name = `${testDatabasePrefix(harnessValue('runId'))}${randomBytes(5).toString('hex')}`;
  const admin = adminSql();
  try {
    await admin.unsafe(
      `create database ${name} owner ${OWNER_ROLE}${template ? ` template ${template}` : ''}`,
    );
    await secureDatabase(admin, name, DEFAULT_RUNTIME_LOGIN);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  return {
    name,
    url,
    ownerUser: OWNER_ROLE,
    runtimeUser: DEFAULT_RUNTIME_LOGIN,
    connectRuntime: (max = 5) =>
      connectDatabase({ url, user: DEFAULT_RUNTIME_LOGIN, max, name: 'test-runtime' }),
    connectOwner: (max = 2) => connectDatabase({ url, user: OWNER_ROLE, max, name: 'test-owner' }),
    drop: async () => {
      const sql = adminSql();
      try {
        await sql.unsafe(`drop database if exists ${name}`);
      } catch (error) {
        throw new Error(
          `could not drop test database ${name} — did the test close every pool it opened? (${(error as Error).message})`,
        );
      } finally {
        await sql.end();
      }
    },
  };
}

/** A fresh database cloned from the migrated template: every test file gets its own. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(harnessValue('templateDb'));
}

/** A fresh database with NO migrations applied (for migration tests). */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase();
}

/** Runs plain SQL as the test server's superuser (e.g. to inspect catalogs). */
export async function withAdminSql<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = adminSql();
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}
