import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { DB } from './schema';

export interface ConnectOptions {
  /** postgres://host:port/database — without a password. */
  url: string;
  user: string;
  password?: string;
  max?: number;
  /** application_name, shows up in pg_stat_activity. */
  name?: string;
  connectTimeoutSeconds?: number;
}

export interface Database {
  db: Kysely<DB>;
  sql: postgres.Sql;
  close(): Promise<void>;
}

/** Opens a raw postgres.js pool (used for migrations and bootstrap, which run plain SQL files). */
export function connectSql(options: ConnectOptions): postgres.Sql {
  return postgres(options.url, {
    username: options.user,
    ...(options.password !== undefined ? { password: options.password } : {}),
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    connection: { application_name: options.name ?? 'tenantmesh' },
  });
}

/** Opens a kysely handle over a postgres.js pool; close() ends both. */
export function connectDatabase(options: ConnectOptions): Database {
  const sql = connectSql(options);
  const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: sql }) });
  return {
    db,
    sql,
    // kysely only ends the pool if kysely itself was used; callers may have used `sql` alone.
    close: async () => {
      await db.destroy();
      await sql.end();
    },
  };
}
