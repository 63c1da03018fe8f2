import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isListening } from '@tenantmesh/testing';
import type { Certificate } from './edge-certificate';

export const EDGE_DIR = path.resolve(__dirname, '../../../../infra/edge');
export const NGINX = '/usr/sbin/nginx';

/**
 * Deliberate weakenings of the committed file, for tests that prove one directive holds on its
 * own: with every other layer opened, only that directive stands between the client and the
 * weakness.
 * - `all-ciphers`: every cipher OpenSSL has, down to security level 0 (TLS 1.0/1.1 suites too),
 *   so only ssl_protocols can refuse an old protocol.
 * - `gzip-event-streams`: text/event-stream added to gzip_types, so only the event stream
 *   location's own `gzip off` keeps streams uncompressed.
 */
export type Loosening = 'all-ciphers' | 'gzip-event-streams';

export interface EdgeOptions {
  httpsPort: number;
  httpPort: number;
  /** host:port that nginx proxies to (the gateway, or something in front of it). */
  upstream: string;
  certificate: Certificate;
  /** EDGE_RATE_LIMIT and EDGE_RATE_BURST: low in tests, so a short burst meets the limit. */
  rateLimit: string;
  rateBurst: number;
  loosen?: Loosening[];
}

export interface Edge {
  /** https://localhost:<port>, the origin browsers would use. */
  origin: string;
  httpsPort: number;
  httpPort: number;
  /** The access log so far: one parsed JSON object per line nginx wrote to stdout. */
  accessLog(): Record<string, unknown>[];
  /** Everything nginx wrote to stdout (the access log) and stderr (its error log). */
  output(): string;
  stop(): Promise<void>;
}

/** infra/edge/render.sh, exactly as a deployment runs it, with these placeholder values. */
export function renderCommittedConf(values: Record<string, string>): string {
  const result = spawnSync('sh', [path.join(EDGE_DIR, 'render.sh')], {
    env: { PATH: process.env.PATH ?? '', ...values },
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.status !== 0) throw new Error(`render.sh failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Replaces the single match of pattern; a committed file that no longer has it fails loudly. */
function replaceOnce(conf: string, pattern: RegExp, replacement: string, why: string): string {
  const matches = conf.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? [];
  if (matches.length !== 1) {
    throw new Error(`edge test render (${why}): expected one match of ${pattern}, found ${matches.length}`);
  }
  return conf.replace(pattern, replacement);
}

const LOOSENINGS: Record<Loosening, (conf: string) => string> = {
  'all-ciphers': (conf) =>
    replaceOnce(conf, /^(\s*)ssl_ciphers [^;]+;$/m, '$1ssl_ciphers DEFAULT:@SECLEVEL=0;', 'all-ciphers'),
  'gzip-event-streams': (conf) =>
    replaceOnce(conf, /^(\s*gzip_types [^;]+);/m, '$1 text/event-stream;', 'gzip-event-streams'),
};

/**
 * What the test changes in the rendered file, and nothing else: the worker runs as root (this
 * machine has no `nginx` user, and the test runs as root), and nginx's scratch directories live
 * in the test's temp dir rather than in /var/lib/nginx.
 */
export function adaptForTest(conf: string, dir: string, loosen: Loosening[] = []): string {
  const scratch = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `  ${name}_temp_path ${path.join(dir, `${name}_temp`)};`)
    .join('\n');
  let adapted = replaceOnce(conf, /^user nginx;$/m, 'user root;', 'worker user');
  adapted = replaceOnce(adapted, /^http \{$/m, `http {\n${scratch}`, 'scratch directories');
  for (const loosening of loosen) adapted = LOOSENINGS[loosening](adapted);
  return adapted;
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The committed infra/edge/nginx.conf, rendered by render.sh for this test's ports and
 * certificate, run by the real nginx in the foreground. Resolves once both ports accept.
 */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-edge-'));
  const origin = `https://localhost:${options.httpsPort}`;
  const rendered = renderCommittedConf({
    EDGE_HTTP_LISTEN: `127.0.0.1:${options.httpPort}`,
    EDGE_HTTPS_LISTEN: `127.0.0.1:${options.httpsPort}`,
    EDGE_PUBLIC_ORIGIN: origin,
    EDGE_SERVER_NAME: 'localhost',
    EDGE_TLS_CERTIFICATE: options.certificate.certificate,
    EDGE_TLS_CERTIFICATE_KEY: options.certificate.key,
    EDGE_GATEWAY_UPSTREAM: options.upstream,
    EDGE_RATE_LIMIT: options.rateLimit,
    EDGE_RATE_BURST: String(options.rateBurst),
  });
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, adaptForTest(rendered, dir, options.loosen));

  // stdout is a file rather than a pipe: node's "pipes" are socketpairs, and nginx's
  // open("/dev/stdout") fails on a socket (ENXIO). In a container it is a real pipe.
  const stdoutPath = path.join(dir, 'stdout.log');
  const stdoutFd = fs.openSync(stdoutPath, 'a');
  const child = spawn(
    NGINX,
    [
      '-p',
      `${dir}/`,
      '-c',
      confPath,
      '-g',
      `daemon off; pid ${path.join(dir, 'nginx.pid')}; error_log stderr;`,
    ],
    { stdio: ['ignore', stdoutFd, 'pipe'] },
  );
  fs.closeSync(stdoutFd);
  const stdout = () => fs.readFileSync(stdoutPath, 'utf8');
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGTERM is nginx's fast shutdown: the master stops its workers, open streams included,
      // then exits. SIGKILL on the master alone would orphan the workers.
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 2000);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`nginx exited with ${child.exitCode}:\n${stderr}`);
    }
    const [https, http] = await Promise.all([
      isListening('127.0.0.1', options.httpsPort, 200),
      isListening('127.0.0.1', options.httpPort, 200),
    ]);
    if (https && http) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen within 10 s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    origin,
    httpsPort: options.httpsPort,
    httpPort: options.httpPort,
    accessLog: () =>
      stdout()
        .split('\n')
        // The last piece is empty, or a line nginx is still writing.
        .slice(0, -1)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    output: () => `${stdout()}\n${stderr}`,
    stop,
  };
}
