import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (this file is packages/infra-checks/test/support/). */
export const REPO_ROOT = path.resolve(__dirname, '../../../..');

export function repoPath(...segments: string[]): string {
  return path.join(REPO_ROOT, ...segments);
}

/** The services that exist in this checkout (services/<name>/package.json). */
export function serviceNames(): string[] {
  const dir = repoPath('services');
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'package.json')))
    .sort();
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a real tool. A missing binary is a failure that says how to install it: these checks are
 * never skipped.
 */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; installHint: string },
): CommandResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${command} is not installed: ${options.installHint}`);
    throw result.error;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', '.dev', '.turbo', 'coverage', 'test-results']);

/** Every file in the repository whose name passes `match`, outside installed or generated trees. */
export function findRepoFiles(match: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path.join(dir, entry.name));
      } else if (entry.isFile() && match(entry.name)) {
        found.push(path.relative(REPO_ROOT, path.join(dir, entry.name)));
      }
    }
  };
  walk(REPO_ROOT);
  return found.sort();
}

/**
 * Official images of software whose releases have two numbers (PostgreSQL 15.14 is a complete
 * version: there is no 15.14.x), for which `major.minor` is the exact version.
 */
const TWO_PART_VERSIONS = new Set(['postgres', 'library/postgres', 'docker.io/library/postgres']);

/**
 * A pinned image reference: an exact version tag (x.y.z, optionally v-prefixed and suffixed, as
 * in `node:20.20.2-bookworm-slim`, `prom/prometheus:v2.53.3`; x.y for PostgreSQL) or a sha256
 * digest. `latest`, a missing tag, and bare majors or minors (`node:20`,
 * `node:20.20-bookworm-slim`, `postgres:15`) are not.
 */
export function isPinnedImage(reference: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(reference)) return true;
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon <= lastSlash) return false; // no tag (a colon before the last slash is a registry port)
  const name = reference.slice(0, colon);
  const tag = reference.slice(colon + 1);
  const suffix = '(?:[-+.][0-9A-Za-z][0-9A-Za-z.+_-]*)?';
  const version = TWO_PART_VERSIONS.has(name) ? `\\d+\\.\\d+` : `v?\\d+\\.\\d+\\.\\d+`;
  return new RegExp(`^${version}${suffix}$`).test(tag);
}

/**
 * An environment variable name that looks like it holds a secret. Such a variable may only point
 * at secret files: its name ends in _FILE, or its value is /run/secrets or a path under it (as
 * infra/edge/edge.env's EDGE_TLS_CERTIFICATE_KEY=/run/secrets/edge_tls_certificate_key).
 */
export const SECRET_LIKE_NAME = /(PASSWORD|SECRET|PASSPHRASE|TOKEN|_KEYS?|PRIVATE|CREDENTIAL)/i;

export function isSecretInEnvironment(name: string, value: unknown): boolean {
  if (!SECRET_LIKE_NAME.test(name)) return false;
  if (/_FILE$/i.test(name)) return false;
  return !(typeof value === 'string' && /^\/run\/secrets(\/[^\s]+)?$/.test(value));
}

/**
 * The edge's request body limit in bytes: `client_max_body_size` in infra/edge/nginx.conf (nginx
 * sizes: a number with an optional k, m or g). The files service's FILES_MAX_OBJECT_BYTES must
 * equal it wherever the service is deployed.
 */
export function edgeClientMaxBodyBytes(): number {
  const conf = fs.readFileSync(repoPath('infra/edge/nginx.conf'), 'utf8');
  const sizes = [...conf.matchAll(/^\s*client_max_body_size\s+(\d+)([kKmMgG]?);/gm)];
  if (sizes.length !== 1)
    throw new Error(`expected one client_max_body_size in nginx.conf, found ${sizes.length}`);
  const [, amount, unit] = sizes[0] as RegExpMatchArray;
  const scale: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Number(amount) * (scale[(unit ?? '').toLowerCase()] ?? Number.NaN);
}
