import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, runTool } from './deploy-repo';

/** The part of `docker-compose config` output these checks read. */
export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | null>;
  secrets?: (string | { source: string; target?: string })[];
  volumes?: string[];
  networks?: Record<string, unknown> | string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string[] | string;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  restart?: string;
  stop_grace_period?: string;
  privileged?: boolean;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  ports?: (string | { host_ip?: string; published?: number | string; target: number })[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; external?: boolean }>;
  networks?: Record<string, { internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
}

export const COMPOSE_FILE = 'docker-compose.yml';
export const BACKUP_FRAGMENT = 'infra/postgres/docker-compose.backup.yml';

const INSTALL_HINT =
  "install Debian's docker-compose (apt-get install docker-compose), or set DOCKER_COMPOSE to a docker-compose v1 binary";

/**
 * The environment compose resolves `${…}` from: only what a fresh shell has, so a developer's own
 * SECRETS_DIR or TENANTMESH_VERSION cannot change what the checks see.
 */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

/** `docker-compose -f … config <extra>` from the repository root, for real. */
export function composeConfig(files: string[], extra: string[] = []) {
  const args = files.flatMap((file) => ['-f', file]).concat(['config', ...extra]);
  return runTool(process.env.DOCKER_COMPOSE ?? 'docker-compose', args, {
    cwd: REPO_ROOT,
    env: cleanEnvironment(),
    installHint: INSTALL_HINT,
  });
}

/** The file as compose itself resolves it: variables substituted, anchors merged, paths absolute. */
export function loadCompose(files: string[]): ComposeFile {
  const result = composeConfig(files);
  if (result.status !== 0) throw new Error(`docker-compose config failed:\n${result.stderr}`);
  return parse(result.stdout) as ComposeFile;
}

export function secretNames(service: ComposeService): string[] {
  return (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source)).sort();
}

export function networkNames(service: ComposeService): string[] {
  const networks = service.networks ?? [];
  return (Array.isArray(networks) ? networks : Object.keys(networks)).sort();
}

export function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(
    Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']),
  );
}

export function tmpfsMounts(service: ComposeService): string[] {
  const tmpfs = service.tmpfs ?? [];
  return (Array.isArray(tmpfs) ? tmpfs : [tmpfs]).map((t) => t.split(':')[0] ?? t);
}

/** Bind mounts as [host path relative to the repository, container path]. */
export function bindMounts(service: ComposeService): [string, string][] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([source]) => source?.startsWith('/'))
    .map(([source, target]) => [path.relative(REPO_ROOT, source ?? ''), target ?? '']);
}

/** The numeric uid a `user:` names, or undefined when it names none. */
export function userId(service: ComposeService): number | undefined {
  const uid = service.user?.split(':')[0];
  return uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined;
}

/** Published ports, whichever form compose printed them in ("ip:host:container/tcp" or long). */
export function publishedPorts(service: ComposeService): { hostIp?: string; target: number }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string')
      return { ...(port.host_ip ? { hostIp: port.host_ip } : {}), target: port.target };
    const parts = port.split('/')[0]?.split(':') ?? [];
    const target = Number(parts[parts.length - 1]);
    return parts.length === 3 ? { hostIp: parts[0], target } : { target };
  });
}
