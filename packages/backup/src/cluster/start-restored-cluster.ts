import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { runCommand } from '../run-command';
import type { Owner } from './look-up-owner';

export interface RestoredCluster {
  port: number;
  socketDir: string;
  /** A superuser pool on the restored cluster, over its private Unix socket. */
  connect(database: string, max?: number): postgres.Sql;
  /** The last lines of the cluster's server log (for failure reports). */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  /** A private directory (0700, the cluster user's) for the socket and the server log. */
  runDir: string;
  port: number;
  pgBinDir: string;
  superuser: string;
  runAs?: string | undefined;
  owner?: Owner | undefined;
  /** How long startup, recovery and promotion may take together. */
  timeoutSeconds: number;
}

/**
 * Starts a restored data directory as an isolated, throwaway cluster and waits until recovery
 * has reached its target and promoted. Isolated means: TCP on 127.0.0.1 only and no TCP logins
 * at all (the drill uses a Unix socket in a private directory); archive_mode off, so it can
 * never push WAL into the repository it came from; no synchronous standby to wait for; none of
 * the source's TLS files or sizing needed.
 */
export async function startRestoredCluster(options: StartOptions): Promise<RestoredCluster> {
  const { dataDir, runDir, owner } = options;
  const logFile = path.join(runDir, 'server.log');
  const hbaFile = path.join(dataDir, 'pg_hba.drill.conf');
  const identFile = path.join(dataDir, 'pg_ident.drill.conf');
  const writeOwned = (file: string, content: string, append = false) => {
    if (append) fs.appendFileSync(file, content);
    else fs.writeFileSync(file, content, { mode: 0o600 });
    if (owner) fs.chownSync(file, owner.uid, owner.gid);
  };

  writeOwned(
    hbaFile,
    '# restore drill: the drill itself, over its private Unix socket; no TCP login.\nlocal all all trust\n',
  );
  writeOwned(identFile, '');
  // A source whose postgresql.conf lives outside the data directory (Debian's layout) restores
  // without one; the server needs the file to exist.
  if (!fs.existsSync(path.join(dataDir, 'postgresql.conf')))
    writeOwned(path.join(dataDir, 'postgresql.conf'), '');
  // postgresql.auto.conf is read last, so these win over anything restored from the source.
  const settings: [string, string | number][] = [
    ['port', options.port],
    ['listen_addresses', '127.0.0.1'],
    ['unix_socket_directories', runDir],
    ['hba_file', hbaFile],
    ['ident_file', identFile],
    ['archive_mode', 'off'],
    ['synchronous_standby_names', ''],
    ['ssl', 'off'],
    ['shared_buffers', '128MB'],
    ['logging_collector', 'off'],
    ['cluster_name', 'tenantmesh-restore-drill'],
  ];
  writeOwned(
    path.join(dataDir, 'postgresql.auto.conf'),
    `\n# tenantmesh restore drill: a throwaway, isolated copy\n${settings
      .map(
        ([name, value]) =>
          `${name} = ${typeof value === 'number' ? value : `'${value.replaceAll("'", "''")}'`}`,
      )
      .join('\n')}\n`,
    true,
  );

  const pgCtl = path.join(options.pgBinDir, 'pg_ctl');
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const logTail = (lines = 20) => {
    try {
      return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    await runCommand(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { runAs: options.runAs }).catch(
      () => {},
    );
  };

  try {
    await runCommand(
      pgCtl,
      [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-w',
        '-t',
        String(Math.max(1, Math.ceil(options.timeoutSeconds))),
        'start',
      ],
      { runAs: options.runAs },
    );
  } catch (error) {
    await stop();
    throw new Error(`the restored cluster did not start: ${(error as Error).message}\n${logTail()}`);
  }

  const connect = (database: string, max = 1) =>
    postgres({
      host: runDir,
      port: options.port,
      database,
      username: options.superuser,
      max,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: 'tenantmesh-restore-drill' },
    });

  // pg_ctl returns once the server accepts (read-only) connections; recovery may still be
  // replaying WAL. The drill's checks need the promoted cluster.
  const probe = connect('template1');
  try {
    for (;;) {
      const [row] = await probe<{ recovering: boolean }[]>`select pg_is_in_recovery() as recovering`;
      if (!row!.recovering) break;
      if (Date.now() > deadline)
        throw new Error(`recovery did not finish within ${options.timeoutSeconds} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await probe.end({ timeout: 1 }).catch(() => {});
    await stop();
    throw new Error(
      `the restored cluster did not finish recovery: ${(error as Error).message}\n${logTail()}`,
    );
  }
  await probe.end();
  return { port: options.port, socketDir: runDir, connect, logTail, stop };
}
