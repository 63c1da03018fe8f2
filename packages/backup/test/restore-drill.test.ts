import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_RUNTIME_LOGIN, OWNER_ROLE } from '@tenantmesh/db';
import type postgres from 'postgres';
import { drillExitCode } from '../src/drill/drill-exit-code';
import type { DrillResult } from '../src/drill/drill-result';
import { type RestoreOutcome, restoreAndVerify } from '../src/drill/restore-and-verify';
import { checkArchiving } from '../src/pgbackrest/check-archiving';
import { listBackups } from '../src/pgbackrest/list-backups';
import { runCommand } from '../src/run-command';
import { captureSourceState, type SourceState } from '../src/source/capture-source-state';
import { waitForArchived } from '../src/source/wait-for-archived';
import { type Verification, verifyRestore } from '../src/verify/verify-restore';
import { runCli } from './support/run-cli';
import {
  INFRA_DIR,
  PG_BIN_DIR,
  type SourceCluster,
  STANZA,
  startSourceCluster,
} from './support/start-source-cluster';
import { createUser, writeNotes } from './support/write-tenant-rows';

/**
 * The whole backup cycle, for real: a PostgreSQL 15 cluster archiving WAL through the committed
 * pgbackrest-run into an encrypted pgBackRest repository; a full backup; rows written before and
 * after a captured target; the drill's restores into throwaway clusters; the drill CLI and its
 * status command; the runtime role's view of backup_drills; time-based retention.
 */
describe('backups and the restore drill', () => {
  let cluster: SourceCluster;
  let owner: postgres.Sql;
  let runtime: postgres.Sql;
  let alice: string;
  let bob: string;
  let state: SourceState;
  let firstBackup: string;

  beforeAll(async () => {
    cluster = await startSourceCluster();
    owner = cluster.connect(OWNER_ROLE, 3);
    runtime = cluster.connect(DEFAULT_RUNTIME_LOGIN);
    alice = await createUser(owner, 'alice');
    bob = await createUser(owner, 'bob');
    // A: in the full backup. B: after it, before the target (only in WAL). C: after the target.
    await writeNotes(runtime, alice, 'A', 500);
    await writeNotes(runtime, bob, 'A', 300);
    await cluster.pgbackrest('backup', ['--type=full']);
    firstBackup = (await listBackups(cluster.settings)).at(-1)!.label;
    await writeNotes(runtime, alice, 'B', 200);
    await writeNotes(runtime, bob, 'B', 100);
    state = await captureSourceState(owner, { lockTimeoutMs: 3000 });
    await writeNotes(runtime, alice, 'C', 50);
    await createUser(owner, 'carol');
    // What the drill does next: push the WAL through the target (and past it) to the repository.
    await checkArchiving(cluster.settings, 30);
    await waitForArchived(owner, state.markerWalFile, 30);
  }, 60_000);

  afterAll(async () => {
    await runtime?.end();
    await owner?.end();
    await cluster?.stop();
  });

  describe('the repository and archiving', () => {
    it('encrypts every file in the repository (aes-256-cbc, passphrase only in a secret file)', async () => {
      const [info] = JSON.parse((await cluster.pgbackrest('info', ['--output=json'])).stdout);
      expect(info.cipher).toBe('aes-256-cbc');
      const files = walk(cluster.repoDir);
      expect(files.length).toBeGreaterThan(100);
      // pgBackRest's encrypted files start with OpenSSL's salted header; nothing is plaintext.
      const plain = files.filter((f) => fs.readFileSync(f).subarray(0, 8).toString('latin1') !== 'Salted__');
      expect(plain).toEqual([]);
      // The committed configuration names no passphrase; the wrapper writes it at run time, 0600.
      expect(fs.readFileSync(path.join(INFRA_DIR, 'pgbackrest.conf'), 'utf8')).not.toMatch(/cipher-pass\s*=/);
      const pass = fs.readFileSync(path.join(cluster.secretsDir, 'pgbackrest_cipher_pass'), 'utf8').trim();
      const generated = path.join(cluster.runtimeDir, 'conf.d', 'zz-secrets.conf');
      expect(fs.readFileSync(generated, 'utf8')).toContain(`repo1-cipher-pass=${pass}`);
      expect(fs.statSync(generated).mode & 0o077).toBe(0);
    });

    it('archives WAL continuously with the committed archive_timeout of 60 s (RPO ≤ 15 min)', async () => {
      const settings = await owner<{ name: string; setting: string }[]>`
        select name, setting from pg_settings where name in ('archive_mode', 'archive_timeout', 'wal_level')
        order by name`;
      expect(settings).toEqual([
        { name: 'archive_mode', setting: 'on' },
        { name: 'archive_timeout', setting: '60' },
        { name: 'wal_level', setting: 'replica' },
      ]);
      const [archiver] = await owner<{ archived: number; failed: number }[]>`
        select archived_count::int as archived, failed_count::int as failed from pg_stat_archiver`;
      expect(archiver!.archived).toBeGreaterThan(0);
      expect(archiver!.failed).toBe(0);
    });
  });

  describe('a point-in-time restore (the drill’s pitr path)', () => {
    let outcome: RestoreOutcome;
    let bodies: Map<string, number>;
    let users: string[];
    let wrongCount: Verification;

    beforeAll(async () => {
      outcome = await restoreAndVerify({
        settings: cluster.settings,
        owner: cluster.owner,
        database: state.database,
        target: { kind: 'pitr', set: firstBackup, time: state.targetTime },
        expected: { counts: state.counts, schemaVersion: state.schemaVersion },
        inspect: async (restored) => {
          const rows = await restored<{ phase: string; n: number }[]>`
            select split_part(body, '-', 1) as phase, count(*)::int as n from notes group by 1`;
          bodies = new Map(rows.map((r) => [r.phase, r.n]));
          users = (await restored<{ subject: string }[]>`select subject from user_sessions order by 1`).map(
            (r) => r.subject,
          );
          // The same comparison the drill makes, on the same restored data, against a source
          // that claims one more note than was really there at the target.
          const notes = state.counts['public.notes']!;
          wrongCount = await verifyRestore(restored, {
            counts: { ...state.counts, 'public.notes': notes + 1 },
            schemaVersion: state.schemaVersion,
          });
        },
      });
    }, 60_000);

    it('holds exactly the rows committed before the target, and none committed after it', () => {
      expect(Object.fromEntries(bodies)).toEqual({ A: 800, B: 300 });
      expect(users).toEqual(['alice', 'bob']);
      expect(state.counts['public.notes']).toBe(1100);
    });

    it('passes verification: counts per table equal the source at the target, amcheck, schema version', () => {
      const { verification } = outcome;
      expect(verification.problems).toEqual([]);
      expect(verification.ok).toBe(true);
      expect(verification.mismatches).toEqual([]);
      expect(verification.counts).toMatchObject(state.counts);
      expect(verification.tablesChecked).toBeGreaterThanOrEqual(5);
      expect(verification.indexes.checked).toBeGreaterThan(100); // catalogs included
      expect(verification.indexes.failures).toEqual([]);
      expect(verification.schemaVersion.actual).toBe(state.schemaVersion);
      expect(state.schemaVersion).toBeGreaterThanOrEqual(3);
    });

    it('fails the drill (exit code 1) when a table’s count differs from the source', () => {
      expect(wrongCount.ok).toBe(false);
      expect(wrongCount.mismatches).toEqual([
        { table: 'public.notes', expected: state.counts['public.notes']! + 1, actual: 1100 },
      ]);
      const result = { ok: wrongCount.ok } as DrillResult;
      expect(drillExitCode([result])).toBe(1);
      expect(drillExitCode([{ ok: true } as DrillResult])).toBe(0);
    });
  });

  describe('pnpm drill and pnpm drill:status', () => {
    const cliEnv = () => ({
      ...cluster.env,
      DATABASE_URL: cluster.url,
      BACKUP_PGBACKREST_COMMAND: cluster.wrapper,
      BACKUP_STANZA: STANZA,
      BACKUP_PG_BIN_DIR: PG_BIN_DIR,
      BACKUP_WORK_DIR: cluster.settings.workDir,
      DRILL_ARCHIVE_WAIT_SECONDS: '30',
      ...(cluster.runAs ? { BACKUP_RUN_AS: cluster.runAs } : {}),
    });

    it('restores the latest backup and a point in time, verifies both, records them, exits 0', async () => {
      const run = await runCli('drill', cliEnv());
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.msg, l.kind])).toEqual([
        ['drill passed', 'latest'],
        ['drill passed', 'pitr'],
      ]);
      const rows = await owner<
        { kind: string; ok: boolean; rto: number; rpo: number | null; tables: number; detail: DrillDetail }[]
      >`select kind, ok, rto_seconds::float8 as rto, rpo_seconds::float8 as rpo, tables_checked as tables, detail
        from backup_drills order by id`;
      expect(rows.map((r) => [r.kind, r.ok])).toEqual([
        ['latest', true],
        ['pitr', true],
      ]);
      for (const row of rows) {
        expect(row.rto).toBeGreaterThan(0);
        expect(row.rpo).not.toBeNull();
        expect(row.rpo!).toBeLessThanOrEqual(900);
        expect(row.tables).toBeGreaterThanOrEqual(5);
        expect(row.detail.indexFailures).toEqual([]);
      }
      const pitr = rows.find((r) => r.kind === 'pitr')!;
      expect(pitr.detail.countsCompared).toBe(true);
      expect(pitr.detail.mismatches).toEqual([]);
      expect(pitr.detail.counts['public.notes']).toBe(1150); // A + B + C: everything before its capture
      // latest is the newest backup exactly as taken: phase A only, no WAL replayed past it.
      const latest = rows.find((r) => r.kind === 'latest')!;
      expect(latest.detail.counts['public.notes']).toBe(800);
      // The figures docs/disaster-recovery.md quotes come from this line of the test output.
      process.stdout.write(
        `[restore drill measured] ${JSON.stringify(
          rows.map(({ kind, rto, rpo, detail }) => ({
            kind,
            rto,
            rpo,
            databaseBytes: detail.databaseBytes,
            backup: detail.backup,
            phases: detail.phases,
            markerArchiveSeconds: detail.markerArchiveSeconds,
            archive: detail.archive,
          })),
        )}\n`,
      );
    }, 60_000);

    it('drill:status prints the latest successful drill: date, RTO, RPO, kind', async () => {
      const run = await runCli('drill-status', {
        DATABASE_URL: cluster.url,
        SECRETS_DIR: cluster.secretsDir,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /^Latest successful restore drill: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(pitr\)\n {2}RTO \d+\.\d s .*RPO \d+\.\d s/,
      );
      expect(run.stdout).toMatch(/\n {2}latest .* RTO /);
      expect(run.stdout).not.toContain('FAILED');
    });

    it('a drill that cannot restore exits non-zero, records the failure, and drill:status reports it', async () => {
      const run = await runCli('drill', { ...cliEnv(), BACKUP_STANZA: 'no_such_stanza' });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('drill FAILED');
      const [row] = await owner<{ n: number }[]>`select count(*)::int as n from backup_drills where not ok`;
      expect(row!.n).toBe(2);
      const status = await runCli('drill-status', {
        DATABASE_URL: cluster.url,
        SECRETS_DIR: cluster.secretsDir,
      });
      expect(status.code).toBe(1);
      expect(status.stdout).toContain('Latest successful restore drill:');
      expect(status.stdout).toContain('FAILED: the newest pitr drill');
    }, 30_000);
  });

  describe('backup_drills is operator data', () => {
    it('the runtime role cannot read or write it, even as a signed-in tenant', async () => {
      await expect(runtime`select * from backup_drills`).rejects.toMatchObject({ code: '42501' });
      await expect(
        runtime.begin(async (tx) => {
          await tx`select set_config('app.user_id', ${alice}, true)`;
          await tx`select count(*) from backup_drills`;
        }),
      ).rejects.toMatchObject({ code: '42501' });
      await expect(
        runtime`insert into backup_drills (started_at, finished_at, kind, ok, rto_seconds)
          values (now(), now(), 'pitr', true, 1)`,
      ).rejects.toMatchObject({ code: '42501' });
      const [row] = await owner<{ n: number }[]>`select count(*)::int as n from backup_drills`;
      expect(row!.n).toBeGreaterThan(0);
    });
  });

  describe('retention: every backup is gone within 30 days (committed repo1-retention-full-type=time, =29)', () => {
    it('expire keeps fresh backups, and removes a backup once a newer full is older than 29 days, so none outlives 30', async () => {
      const faketime = ['/usr/bin/faketime', '/usr/local/bin/faketime'].find((f) => fs.existsSync(f));
      if (!faketime) {
        throw new Error(
          'faketime is needed to age backups past 30 days without waiting a month: apt-get install faketime (.ci/run installs it)',
        );
      }
      // The second full backup through the committed daily script, as the schedules run it.
      const script = path.join(cluster.dir, 'backup-full');
      fs.copyFileSync(path.join(INFRA_DIR, 'backup-full'), script);
      const daily = await runCommand('sh', [script], {
        runAs: cluster.runAs,
        env: { ...process.env, PATH: `${cluster.dir}:${process.env.PATH}`, BACKUP_STANZA: STANZA },
      });
      expect(daily.stdout).toContain('backup command end: completed successfully');
      const labels = async () => (await listBackups(cluster.settings)).map((b) => b.label);
      const [first, second] = await labels();
      expect(first).toBe(firstBackup);

      // Today: nothing is near the limit.
      await cluster.pgbackrest('expire');
      expect(await labels()).toEqual([first, second]);

      // Expire as if run later (libfaketime shifts pgBackRest's clock only; the repository
      // and its backups are real). 28 days 23 hours on: both are inside the 29-day window.
      const hours = 3600;
      const expireAt = (offsetSeconds: number) =>
        runCommandAs(cluster, faketime, [
          '-f',
          `+${offsetSeconds}`,
          cluster.wrapper,
          `--stanza=${STANZA}`,
          'expire',
        ]);
      await expireAt((28 * 24 + 23) * hours);
      expect(await labels()).toEqual([first, second]);

      // 29 days 1 hour on: both are past 29 days. pgBackRest keeps the newest full older than the
      // window (so recovery reaches back 29 days) and deletes the one before it. With a full every
      // day, that one is then at most 30 days old: the page's "expire 30 days after creation".
      const expired = await expireAt((29 * 24 + 1) * hours);
      expect(expired.stdout).toContain(`expire time-based backup ${first}`);
      expect(await labels()).toEqual([second]);
      // The WAL it needed goes too: archived WAL holds row data (deleted rows included), and
      // only what the kept backup needs to be restored and rolled forward remains.
      const [info] = JSON.parse((await cluster.pgbackrest('info', ['--output=json'])).stdout);
      expect(info.archive[0].min).toBe(info.backup[0].archive.start);
      // Its files are gone from the repository (backup.history keeps only its encrypted manifest).
      expect(fs.existsSync(path.join(cluster.repoDir, 'backup', STANZA, first!))).toBe(false);
      expect(fs.existsSync(path.join(cluster.repoDir, 'backup', STANZA, second!))).toBe(true);
    }, 30_000);
  });
});

interface DrillDetail {
  counts: Record<string, number>;
  indexFailures: unknown[];
  mismatches: unknown[];
  countsCompared: boolean;
  databaseBytes: number;
  backup: unknown;
  phases: unknown;
  markerArchiveSeconds: number;
  archive: unknown;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.isFile() ? [full] : [];
  });
}

function runCommandAs(cluster: SourceCluster, command: string, args: string[]) {
  return runCommand(command, args, { runAs: cluster.runAs });
}
