import fs from 'node:fs';
import type postgres from 'postgres';
import { findFreePort } from '../cluster/find-free-port';
import type { Owner } from '../cluster/look-up-owner';
import { makePrivateDir } from '../cluster/make-private-dir';
import { startRestoredCluster } from '../cluster/start-restored-cluster';
import type { BackupSettings } from '../config';
import { type RestoreTarget, restoreBackup } from '../pgbackrest/restore-backup';
import { type Expectation, type Verification, verifyRestore } from '../verify/verify-restore';

export interface RestoreAndVerifyOptions {
  settings: BackupSettings;
  owner: Owner | undefined;
  /** The source database's name: the one to verify in the restored cluster. */
  database: string;
  target: RestoreTarget;
  expected: Expectation;
  /** Lets a test look at the restored cluster before it is stopped and deleted. */
  inspect?: (sql: postgres.Sql) => Promise<void>;
}

export interface RestoreOutcome {
  verification: Verification;
  /** Seconds from the start of the restore to the end of verification. */
  seconds: number;
  phases: { restoreSeconds: number; recoverySeconds: number; verifySeconds: number };
}

/**
 * One drill restore: an empty private directory, pgbackrest restore, the cluster started on a
 * free port, recovery to the target, verification. The cluster is always stopped and its data
 * deleted afterwards, whatever happened: a restored copy of production must not linger.
 */
export async function restoreAndVerify(options: RestoreAndVerifyOptions): Promise<RestoreOutcome> {
  const { settings, owner } = options;
  const workDir = makePrivateDir(settings.workDir, `tenantmesh-drill-${options.target.kind}-`, owner);
  const started = Date.now();
  try {
    const dataDir = makePrivateDir(workDir, 'data-', owner);
    const runDir = makePrivateDir(workDir, 'run-', owner);
    const tablespaceDir = makePrivateDir(workDir, 'tablespaces-', owner);
    await restoreBackup(settings, {
      dataDir,
      tablespaceDir,
      target: options.target,
      timeoutMs: settings.rtoObjectiveSeconds * 1000,
    });
    const restored = Date.now();
    const cluster = await startRestoredCluster({
      dataDir,
      runDir,
      port: await findFreePort(),
      pgBinDir: settings.pgBinDir,
      superuser: settings.pgSuperuser,
      runAs: settings.runAs,
      owner,
      timeoutSeconds: Math.max(1, settings.rtoObjectiveSeconds - (restored - started) / 1000),
    });
    try {
      const recovered = Date.now();
      const sql = cluster.connect(options.database);
      try {
        const verification = await verifyRestore(sql, options.expected);
        const finished = Date.now();
        if (options.inspect) await options.inspect(sql);
        return {
          verification,
          seconds: (finished - started) / 1000,
          phases: {
            restoreSeconds: (restored - started) / 1000,
            recoverySeconds: (recovered - restored) / 1000,
            verifySeconds: (finished - recovered) / 1000,
          },
        };
      } finally {
        await sql.end();
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
