import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '@tenantmesh/db';
import { createTestDatabase, type TestDatabase } from '@tenantmesh/testing';
import type { DrillRow } from '../src/db/find-latest-drills';
import { backupMetricsText } from '../src/metrics/backup-metrics';
import { drillMetricsText } from '../src/metrics/drill-metrics';
import { writeTextfile } from '../src/metrics/textfile';
import type { BackupSet } from '../src/pgbackrest/list-backups';

/**
 * The textfile-collector output that alerting reads (infra/observability/prometheus/alerts.yml):
 * the exact series, valid exposition format (checked by promtool), atomic replacement, and the two
 * commands writing it for real — backup-metrics from `pgbackrest info`, and the drill, which
 * reports from backup_drills so a failed run still carries the last success.
 */
const DIST = path.join(__dirname, '..', 'dist');

function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `promtool is needed to check the exposition format (apt-get install prometheus): ${run.error.message}`,
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

function runNode(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, script)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

const drill = (kind: 'latest' | 'pitr', ok: boolean, finishedAt: string): DrillRow => ({
  id: '1',
  kind,
  startedAt: new Date(finishedAt),
  finishedAt: new Date(finishedAt),
  targetTime: null,
  ok,
  rtoSeconds: 10,
  rpoSeconds: 1,
  tablesChecked: 5,
  problems: [],
});

const backup = (type: BackupSet['type'], repo: number, stoppedAt: string): BackupSet => ({
  label: `${type}-${stoppedAt}`,
  type,
  repo,
  startedAt: new Date(stoppedAt),
  stoppedAt: new Date(stoppedAt),
  databaseBytes: 1,
  repositoryBytes: 1,
});

/** `pgbackrest info --output=json` as a stand-in for pgbackrest-run, printing the given stanza info. */
function fakePgbackrest(dir: string, info: unknown): string {
  const file = path.join(dir, 'fake-pgbackrest');
  fs.writeFileSync(file, `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(info)}\nJSON\n`, { mode: 0o755 });
  return file;
}

describe('textfile metrics for alerting', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm-backup-metrics-'));
    // The drill runs pgBackRest as BACKUP_RUN_AS when root; that user must reach the stand-in.
    fs.chmodSync(dir, 0o755);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports each drill kind’s newest outcome, when it ran, and its newest success', () => {
    const text = drillMetricsText({
      successful: [
        drill('latest', true, '2025-01-05T04:10:00Z'),
        drill('pitr', true, '2024-12-29T04:12:00Z'),
      ],
      newest: [drill('latest', true, '2025-01-05T04:10:00Z'), drill('pitr', false, '2025-01-05T04:20:00Z')],
    });
    expect(text).toContain('tenantmesh_restore_drill_last_status{kind="latest"} 1\n');
    expect(text).toContain('tenantmesh_restore_drill_last_status{kind="pitr"} 0\n');
    expect(text).toContain('tenantmesh_restore_drill_last_run_timestamp_seconds{kind="pitr"} 1736050800\n');
    expect(text).toContain(
      'tenantmesh_restore_drill_last_success_timestamp_seconds{kind="pitr"} 1735445520\n',
    );
    expect(text).toContain('# TYPE tenantmesh_restore_drill_last_status gauge\n');
    const check = promtoolCheckMetrics(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('writes nothing for a kind that never ran, and an empty file when nothing ever ran', () => {
    expect(drillMetricsText({ successful: [], newest: [] })).toBe('');
    const text = drillMetricsText({ successful: [], newest: [drill('pitr', false, '2025-01-05T04:20:00Z')] });
    expect(text).not.toContain('latest');
    expect(text).not.toContain('last_success');
  });

  it('reports the newest backup of each type per repository', () => {
    const text = backupMetricsText([
      backup('full', 1, '2025-01-04T01:20:00Z'),
      backup('full', 1, '2025-01-05T01:20:00Z'),
      backup('full', 2, '2025-01-03T01:30:00Z'),
      backup('incr', 1, '2025-01-05T07:00:00Z'),
    ]);
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'tenantmesh_backup_last_success_timestamp_seconds{kind="full",repo="1"} 1736040000',
      'tenantmesh_backup_last_success_timestamp_seconds{kind="full",repo="2"} 1735867800',
      'tenantmesh_backup_last_success_timestamp_seconds{kind="incr",repo="1"} 1736060400',
    ]);
    expect(promtoolCheckMetrics(text)).toEqual({ status: 0, output: '' });
  });

  it('replaces the file in one step and leaves no temporary file behind', async () => {
    const file = path.join(dir, 'drill.prom');
    await writeTextfile(file, 'a 1\n');
    await writeTextfile(file, 'a 2\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('a 2\n');
    expect(fs.readdirSync(dir)).toEqual(['drill.prom']);
    await expect(writeTextfile(path.join(dir, 'missing', 'x.prom'), 'a 1\n')).rejects.toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual(['drill.prom']);
  });

  it('backup-metrics writes what pgBackRest lists, and refuses a path the collector would not read', async () => {
    const command = fakePgbackrest(dir, [
      {
        name: 'tenantmesh',
        status: { code: 0, message: 'ok' },
        backup: [
          {
            label: '20250105-012000F',
            type: 'full',
            database: { 'repo-key': 1 },
            timestamp: { start: 1736039000, stop: 1736040000 },
            info: { size: 100, repository: { size: 50 } },
          },
        ],
      },
    ]);
    const file = path.join(dir, 'backup.prom');
    const run = await runNode('backup-metrics.js', {
      BACKUP_PGBACKREST_COMMAND: command,
      BACKUP_METRICS_FILE: file,
    });
    expect(run.code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain(
      'tenantmesh_backup_last_success_timestamp_seconds{kind="full",repo="1"} 1736040000\n',
    );

    const relative = await runNode('backup-metrics.js', {
      BACKUP_PGBACKREST_COMMAND: command,
      BACKUP_METRICS_FILE: 'backup.txt',
    });
    expect(relative.code).toBe(1);
    expect(relative.out).toContain('BACKUP_METRICS_FILE');
  });

  describe('pnpm drill with DRILL_METRICS_FILE', () => {
    let db: TestDatabase;
    let owner: Database;
    beforeAll(async () => {
      db = await createTestDatabase();
      owner = db.connectOwner();
    });
    afterAll(async () => {
      await owner.close();
      await db.drop();
    });

    it('a failed drill reports status 0 and still carries the last success from backup_drills', async () => {
      await owner.sql`insert into backup_drills (started_at, finished_at, kind, ok, rto_seconds, tables_checked, detail)
        values ('2025-01-05T04:00:00Z', '2025-01-05T04:10:00Z', 'pitr', true, 600, 5, '{}')`;
      const command = fakePgbackrest(dir, [
        { name: 'tenantmesh', status: { code: 0, message: 'ok' }, backup: [] },
      ]);
      const file = path.join(dir, 'drill.prom');
      const run = await runNode('drill.js', {
        DATABASE_URL: db.url,
        DATABASE_OWNER_USER: db.ownerUser,
        BACKUP_PGBACKREST_COMMAND: command,
        DRILL_METRICS_FILE: file,
        ...(process.getuid?.() === 0 ? { BACKUP_RUN_AS: 'postgres' } : {}),
      });
      expect(run.out).toContain('drill FAILED');
      expect(run.out).toContain('has no backup to restore');
      expect(run.code).toBe(1);
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toContain('tenantmesh_restore_drill_last_status{kind="latest"} 0\n');
      expect(text).toContain('tenantmesh_restore_drill_last_status{kind="pitr"} 0\n');
      expect(text).toContain(
        'tenantmesh_restore_drill_last_success_timestamp_seconds{kind="pitr"} 1736050200\n',
      );
      expect(text).not.toMatch(/last_success_timestamp_seconds\{kind="latest"\}/);
      expect(promtoolCheckMetrics(text)).toEqual({ status: 0, output: '' });
    }, 30_000);
  });
});
