import os from 'node:os';
import path from 'node:path';
import { type Env, loadConfig } from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { z } from 'zod';

export const DRILL_KINDS = ['latest', 'pitr'] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

const seconds = (fallback: number, max: number) => z.coerce.number().positive().max(max).default(fallback);

/**
 * Where pgBackRest and the PostgreSQL binaries are, and what the drill checks against. The
 * repository passphrase is not here: pgbackrest-run reads it from its secret file.
 */
export const backupSettings = z
  .object({
    BACKUP_PGBACKREST_COMMAND: z.string().min(1).default('pgbackrest-run'),
    BACKUP_STANZA: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('tenantmesh'),
    /** Restore from this repository (e.g. 2, the off-site one) instead of the first that has the backup. */
    BACKUP_REPO: z.coerce.number().int().min(1).max(256).optional(),
    BACKUP_PG_BIN_DIR: z.string().min(1).default('/usr/lib/postgresql/15/bin'),
    /** The restored cluster's superuser: the source cluster's bootstrap superuser. */
    BACKUP_PG_SUPERUSER: z.string().min(1).default('postgres'),
    /** When the drill runs as root, every pg_ctl/pgbackrest command runs as this OS user. */
    BACKUP_RUN_AS: z.string().min(1).optional(),
    BACKUP_WORK_DIR: z.string().min(1).default(os.tmpdir()),
    DRILL_KINDS: z
      .string()
      .default(DRILL_KINDS.join(','))
      .transform((v) => v.split(',').map((k) => k.trim()))
      .pipe(z.array(z.enum(DRILL_KINDS)).min(1)),
    /** The page's objectives; a drill slower than RTO, or run when archiving lags past RPO, fails. */
    DRILL_RTO_OBJECTIVE_SECONDS: seconds(4 * 3600, 7 * 24 * 3600),
    DRILL_RPO_OBJECTIVE_SECONDS: seconds(15 * 60, 24 * 3600),
    /** How long to wait for the WAL holding the target to reach the repository. */
    DRILL_ARCHIVE_WAIT_SECONDS: seconds(120, 3600),
    /** How long the capture may wait for table locks before giving up (writers queue behind it). */
    DRILL_LOCK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  })
  .transform((e) => ({
    pgbackrest: e.BACKUP_PGBACKREST_COMMAND,
    stanza: e.BACKUP_STANZA,
    repo: e.BACKUP_REPO,
    pgBinDir: e.BACKUP_PG_BIN_DIR,
    pgSuperuser: e.BACKUP_PG_SUPERUSER,
    runAs: e.BACKUP_RUN_AS,
    workDir: e.BACKUP_WORK_DIR,
    kinds: [...new Set(e.DRILL_KINDS)],
    rtoObjectiveSeconds: e.DRILL_RTO_OBJECTIVE_SECONDS,
    rpoObjectiveSeconds: e.DRILL_RPO_OBJECTIVE_SECONDS,
    archiveWaitSeconds: e.DRILL_ARCHIVE_WAIT_SECONDS,
    lockTimeoutMs: e.DRILL_LOCK_TIMEOUT_MS,
  }));

export type BackupSettings = z.output<typeof backupSettings>;

/** A file for node_exporter's textfile collector (a `.prom` name in its directory). */
const metricsFile = z
  .string()
  .min(1)
  .refine((f) => path.isAbsolute(f) && f.endsWith('.prom'), 'an absolute path ending in .prom');

/** Optional: where `pnpm drill` writes the drill's state for alerting (see drill-metrics.ts). */
export const drillMetricsSettings = z
  .object({ DRILL_METRICS_FILE: metricsFile.optional() })
  .transform((e) => ({ file: e.DRILL_METRICS_FILE }));

export function loadDrillConfig(env: Env) {
  return loadConfig(env, {
    settings: { db: databaseSettings, backup: backupSettings, metrics: drillMetricsSettings },
    secrets: { dbOwnerPassword: databaseSecrets.dbOwnerPassword },
  });
}

export type DrillConfig = ReturnType<typeof loadDrillConfig>;

/** drill:status needs only the database (as the owner role). */
export function loadStatusConfig(env: Env) {
  return loadConfig(env, {
    settings: { db: databaseSettings },
    secrets: { dbOwnerPassword: databaseSecrets.dbOwnerPassword },
  });
}

/** backup-metrics needs pgBackRest (backupSettings) and where to write, nothing else. */
export function loadBackupMetricsConfig(env: Env) {
  return loadConfig(env, {
    settings: {
      backup: backupSettings,
      metrics: z
        .object({ BACKUP_METRICS_FILE: metricsFile })
        .transform((e) => ({ file: e.BACKUP_METRICS_FILE })),
    },
  });
}
