import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type postgres from 'postgres';

/** The folder of numbered SQL files shipped with this package (NNNN_name.sql). */
export const MIGRATIONS_DIR = path.join(__dirname, '..', 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

// A fixed key: every replica that boots at once queues on the same advisory lock.
const MIGRATION_LOCK_KEY = 7_146_339_001;

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql'));
  const migrations = files.map((file) => {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`migration file ${file} must be named NNNN_snake_case.sql`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    return {
      version: Number(match[1]),
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(
        `migrations must be numbered 0001, 0002, … without gaps; found ${m.version} at position ${i + 1}`,
      );
  });
  return migrations;
}

export interface MigrateResult {
  applied: number[];
  current: number;
}

/**
 * Applies pending migrations in ONE transaction under a transaction-scoped advisory lock, so
 * replicas booting together serialise here: the first applies, the rest see nothing pending.
 * Must run as the owner role. Refuses to run if an applied migration's file has changed.
 */
export async function runMigrations(
  sql: postgres.Sql,
  migrations: Migration[] = readMigrations(),
): Promise<MigrateResult> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const rows = await tx<{ version: number; name: string; checksum: string }[]>`
      select version, name, checksum from schema_migrations order by version`;
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const row of rows) {
      const file = migrations.find((m) => m.version === row.version);
      if (!file)
        throw new Error(
          `database has migration ${row.version} (${row.name}) that this build does not know; deploy a newer build`,
        );
      if (file.checksum !== row.checksum)
        throw new Error(
          `migration ${row.version} (${row.name}) was edited after it was applied; add a new migration instead`,
        );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into schema_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`;
      applied.push(m.version);
    }
    return { applied, current: migrations.at(-1)?.version ?? 0 };
  }) as Promise<MigrateResult>;
}
