import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@tenantmesh/testing';

/** Where each tool comes from, for the message when it is missing (Debian packages; .ci/run installs them). */
const INSTALL: Record<string, string> = {
  promtool: 'apt-get install prometheus',
  prometheus: 'apt-get install prometheus',
  amtool: 'apt-get install prometheus-alertmanager',
  'prometheus-alertmanager': 'apt-get install prometheus-alertmanager',
};

export interface ToolRun {
  status: number | null;
  /** stdout and stderr together, as a person running it would read them. */
  output: string;
}

/** Runs a real tool to completion. A missing binary fails with how to install it: never a skip. */
export function runTool(command: string, args: string[], options: { cwd?: string } = {}): ToolRun {
  const run = spawnSync(command, args, { cwd: options.cwd, encoding: 'utf8', timeout: 120_000 });
  if (run.error) {
    if ((run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${command} is not installed (${INSTALL[command] ?? 'install it'}); this check cannot run without it`,
      );
    }
    throw run.error;
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tm-obs-${prefix}-`));
}

export interface Daemon {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a Prometheus-family server (prometheus, prometheus-alertmanager) on a free loopback port
 * and waits for /-/ready. `args` receives the port's listen address.
 */
export async function startDaemon(command: string, args: (listen: string) => string[]): Promise<Daemon> {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(command, args(listen), { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `${command} is not installed (${INSTALL[command] ?? 'install it'}); this check cannot run without it`,
            )
          : error,
      ),
    );
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  await spawned;
  const url = `http://${listen}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return { url, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${command} was not ready within 20 s:\n${output}`);
}

/** Polls `probe` until it returns a value (not undefined), or fails with the last reason. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
