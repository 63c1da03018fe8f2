import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bootstrapDatabase,
  connectSql,
  DEFAULT_RUNTIME_LOGIN,
  OWNER_ROLE,
  runMigrations,
} from '@tenantmesh/db';
import { freePort } from '@tenantmesh/testing';
import type postgres from 'postgres';
import { lookUpOwner, type Owner } from '../../src/cluster/look-up-owner';
import { type BackupSettings, backupSettings } from '../../src/config';
import { runPgbackrest } from '../../src/pgbackrest/run-pgbackrest';
import { type CommandResult, runCommand } from '../../src/run-command';
import { renderIni } from './render-config';

export const INFRA_DIR = path.join(__dirname, '..', '..', '..', '..', 'infra', 'postgres');
export const PG_BIN_DIR = process.env.TEST_PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
export const STANZA = 'tenantmesh';
export const DATABASE = 'tenantmesh';

export interface SourceCluster {
  dir: string;
  port: number;
  /** postgres://127.0.0.1:PORT/tenantmesh (trust auth, no password). */
  url: string;
  /** The pgbackrest-run copy every pgBackRest call goes through. */
  wrapper: string;
  /** The OS user the cluster runs as (`postgres` when the tests run as root). */
  runAs: string | undefined;
  /** uid/gid for files the cluster must own (when running as root). */
  owner: Owner | undefined;
  /** Environment pgbackrest-run reads: where the config, the runtime dir and the secrets are. */
  env: Record<string, string>;
  secretsDir: string;
  runtimeDir: string;
  repoDir: string;
  /** Drill settings pointing at this cluster and repository. */
  settings: BackupSettings;
  connect(user: string, max?: number): postgres.Sql;
  pgbackrest(command: string, options?: string[]): Promise<CommandResult>;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL 15 cluster with WAL archiving to a real, encrypted pgBackRest repository,
 * configured from the committed files in infra/postgres (only paths and the port are changed),
 * with the roles bootstrapped and the migrations applied. As root, everything runs as the
 * `postgres` OS user. Never the machine's own PostgreSQL: its own directory, its own free port.
 */
export async function startSourceCluster(): Promise<SourceCluster> {
  // Fail with the fix, never skip (docs/adr/0004-test-databases.md).
  for (const [tool, args, install] of [
    ['pgbackrest', ['version'], 'apt-get install pgbackrest'],
    [path.join(PG_BIN_DIR, 'pg_ctl'), ['--version'], 'apt-get install postgresql-15, or set TEST_PG_BIN_DIR'],
  ] as const) {
    await runCommand(tool, [...args]).catch(() => {
      throw new Error(`the backup tests need ${tool} (${install}); .ci/run installs it`);
    });
  }
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  const owner = await lookUpOwner(runAs);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-backup-test-'));
  const sub = (name: string) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p, { mode: 0o700 });
    return p;
  };
  const dataDir = sub('data');
  const socketDir = sub('socket');
  const repoDir = sub('repo');
  const lockDir = sub('lock');
  const secretsDir = sub('secrets');
  const runtimeDir = sub('runtime');
  const workDir = sub('work');
  fs.rmdirSync(dataDir); // initdb creates it
  const port = await freePort();

  // The repository passphrase exists only as a secret file, generated here.
  fs.writeFileSync(
    path.join(secretsDir, 'pgbackrest_cipher_pass'),
    `${randomBytes(48).toString('base64')}\n`,
    {
      mode: 0o600,
    },
  );
  const wrapper = path.join(dir, 'pgbackrest-run');
  fs.copyFileSync(path.join(INFRA_DIR, 'pgbackrest-run'), wrapper);
  fs.chmodSync(wrapper, 0o755);
  const configFile = path.join(dir, 'pgbackrest.conf');
  fs.writeFileSync(
    configFile,
    renderIni(fs.readFileSync(path.join(INFRA_DIR, 'pgbackrest.conf'), 'utf8'), {
      global: { 'repo1-path': repoDir, 'lock-path': lockDir, 'log-path': lockDir, 'spool-path': lockDir },
      [STANZA]: { 'pg1-path': dataDir, 'pg1-port': String(port), 'pg1-socket-path': socketDir },
    }),
  );
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    for (const entry of fs.readdirSync(dir)) fs.chownSync(path.join(dir, entry), owner.uid, owner.gid);
    fs.chownSync(path.join(secretsDir, 'pgbackrest_cipher_pass'), owner.uid, owner.gid);
  }

  const env = {
    TM_PGBACKREST_CONFIG: configFile,
    TM_PGBACKREST_CONFIG_DIR: path.join(dir, 'no-extra-config'),
    TM_PGBACKREST_RUNTIME_DIR: runtimeDir,
    SECRETS_DIR: secretsDir,
  };
  Object.assign(process.env, env);

  const run = (command: string, args: string[]) => runCommand(command, args, { runAs });
  const pgCtl = path.join(PG_BIN_DIR, 'pg_ctl');
  await run(path.join(PG_BIN_DIR, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  // The committed archiving settings, pointed at this copy of pgbackrest-run.
  const archiving = fs
    .readFileSync(path.join(INFRA_DIR, 'postgresql.backup.conf'), 'utf8')
    .replace('/usr/local/bin/pgbackrest-run', wrapper);
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${socketDir}'\nfsync = off\n${archiving}`,
  );
  const stop = async () => {
    await run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    for (const key of Object.keys(env)) delete process.env[key];
  };
  try {
    await run(pgCtl, ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', 'start']);
    const settings = backupSettings.parse({
      BACKUP_PGBACKREST_COMMAND: wrapper,
      BACKUP_STANZA: STANZA,
      BACKUP_PG_BIN_DIR: PG_BIN_DIR,
      BACKUP_WORK_DIR: workDir,
      DRILL_ARCHIVE_WAIT_SECONDS: '30',
      ...(runAs ? { BACKUP_RUN_AS: runAs } : {}),
    });
    await runPgbackrest(settings, 'stanza-create');

    const url = `postgres://127.0.0.1:${port}/${DATABASE}`;
    const connect = (user: string, max = 2) => connectSql({ url, user, max, name: 'backup-test' });
    const admin = connectSql({ url: `postgres://127.0.0.1:${port}/postgres`, user: 'postgres', max: 1 });
    try {
      await bootstrapDatabase(admin, { database: DATABASE, runtimeLogin: DEFAULT_RUNTIME_LOGIN });
    } finally {
      await admin.end();
    }
    const ownerSql = connect(OWNER_ROLE, 1);
    try {
      await runMigrations(ownerSql);
    } finally {
      await ownerSql.end();
    }
    return {
      dir,
      port,
      url,
      wrapper,
      runAs,
      owner,
      env,
      secretsDir,
      runtimeDir,
      repoDir,
      settings,
      connect,
      pgbackrest: (command, options = []) => runPgbackrest(settings, command, options),
      stop,
    };
  } catch (error) {
    const log = fs.existsSync(path.join(dir, 'server.log'))
      ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8')
      : '';
    await stop();
    throw new Error(`${(error as Error).message}\n${log.split('\n').slice(-15).join('\n')}`);
  }
}
