import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@tenantmesh/testing';
import {
  type Dockerfile,
  finalStage,
  finalUser,
  instructionsOf,
  isRootUser,
  parseDockerfile,
  unlockedInstalls,
  unpinnedBaseImages,
} from './support/deploy-dockerfile';
import { findRepoFiles, repoPath, serviceNames } from './support/deploy-repo';

/**
 * Every Dockerfile in the repository (found by walking it, so a new one is checked the day it
 * lands): reproducible builds (pinned base images, lockfile-only installs) and a non-root final
 * stage. Then the service template itself, infra/docker/Dockerfile, in detail. docker build cannot
 * run on these machines; what can be checked without it is, including the HEALTHCHECK script.
 */
const isDockerfile = (name: string) =>
  name === 'Dockerfile' || name.endsWith('.Dockerfile') || name.startsWith('Dockerfile.');
const DOCKERFILES = findRepoFiles(isDockerfile);
/** Long-running servers: their images must say how to check them. */
const SERVER_IMAGES = ['infra/docker/Dockerfile', 'infra/docker/postgres/Dockerfile'];
const TEMPLATE = 'infra/docker/Dockerfile';

const load = (file: string): Dockerfile => parseDockerfile(fs.readFileSync(repoPath(file), 'utf8'));

describe('every Dockerfile in the repository', () => {
  test('includes the service template, the database image and the backup image', () => {
    expect(DOCKERFILES).toEqual(
      expect.arrayContaining([
        'infra/docker/Dockerfile',
        'infra/docker/postgres/Dockerfile',
        'infra/postgres/Dockerfile',
      ]),
    );
  });

  describe.each(DOCKERFILES)('%s', (file) => {
    const dockerfile = load(file);

    test('pins every FROM to an exact version tag or a digest', () => {
      expect(dockerfile.stages.length).toBeGreaterThan(0);
      expect(unpinnedBaseImages(dockerfile)).toEqual([]);
    });

    test('installs dependencies only as the lockfile says (--frozen-lockfile; pinned global tools)', () => {
      expect(unlockedInstalls(dockerfile)).toEqual([]);
    });

    test('runs its final stage as a non-root user', () => {
      const user = finalUser(dockerfile);
      expect(user).toBeDefined();
      expect(isRootUser(user)).toBe(false);
    });

    if (SERVER_IMAGES.includes(file)) {
      test('has a HEALTHCHECK in its final stage', () => {
        const checks = instructionsOf(finalStage(dockerfile), 'HEALTHCHECK');
        expect(checks.length).toBe(1);
        expect(checks[0]?.args).not.toMatch(/^NONE/i);
      });
    }
  });
});

describe('the checks themselves', () => {
  const check = (text: string) => {
    const file = parseDockerfile(text);
    return { from: unpinnedBaseImages(file), installs: unlockedInstalls(file), user: finalUser(file) };
  };

  test.each([
    'FROM node',
    'FROM node:latest',
    'FROM node:20',
    'FROM node:20-bookworm-slim',
    'FROM node:20.20-bookworm-slim',
    'FROM registry.example.com:5000/node',
    'FROM postgres:15-bookworm',
    'FROM redis:7.4',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax, not a JS template
    'ARG NODE=20\nFROM node:${NODE}',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax, not a JS template
    'FROM node:${UNSET}',
  ])('refuses a floating base image: %s', (text) => {
    expect(check(text).from).toHaveLength(1);
  });

  test.each([
    'FROM node:20.20.2-bookworm-slim',
    `FROM node:20.20.2-bookworm-slim@sha256:${'a'.repeat(64)}`,
    `FROM node@sha256:${'b'.repeat(64)}`,
    'FROM prom/prometheus:v2.53.3',
    'FROM postgres:15.14-bookworm',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax, not a JS template
    'ARG NODE=20.20.2-bookworm-slim\nFROM node:${NODE}',
    'FROM node:20.20.2-bookworm-slim AS base\nFROM base AS next\nFROM next',
    'FROM scratch',
  ])('accepts a pinned base image: %s', (text) => {
    expect(check(text).from).toEqual([]);
  });

  test.each([
    'RUN pnpm install',
    'RUN pnpm install --no-frozen-lockfile',
    'RUN cd /app && pnpm i --prod',
    'RUN pnpm --filter x install --offline',
    'RUN pnpm add left-pad',
    'RUN npm install',
    'RUN npm i -g pnpm@10',
    'RUN npm install -g pnpm',
    'RUN yarn',
    'RUN yarn install',
  ])('refuses an install that does not follow the lockfile: %s', (run) => {
    expect(check(`FROM node:20.20.2-bookworm-slim\n${run}`).installs).toHaveLength(1);
  });

  test.each([
    'RUN pnpm install --frozen-lockfile',
    'RUN \\\n  pnpm install \\\n  --frozen-lockfile',
    'RUN pnpm fetch && pnpm install --offline',
    'RUN npm ci',
    'RUN npm install -g pnpm@10.34.9 turbo@2.11.11',
    'RUN pnpm --filter x deploy --prod /out',
    'RUN yarn install --immutable',
  ])('accepts a lockfile-only install: %s', (run) => {
    expect(check(`FROM node:20.20.2-bookworm-slim\n${run}`).installs).toEqual([]);
  });

  test('finds the last USER of the final stage only', () => {
    expect(isRootUser(check('FROM a:1.2.3\nUSER 10001\nFROM b:1.2.3').user)).toBe(true);
    expect(isRootUser(check('FROM a:1.2.3\nFROM b:1.2.3\nUSER 10001\nUSER root').user)).toBe(true);
    expect(isRootUser(check('FROM a:1.2.3\nUSER 0:0').user)).toBe(true);
    expect(isRootUser(check('FROM a:1.2.3\nUSER root\n# USER 10001\nUSER 10001:10001').user)).toBe(false);
  });
});

describe('the service image template (infra/docker/Dockerfile)', () => {
  const text = fs.readFileSync(repoPath(TEMPLATE), 'utf8');
  const dockerfile = load(TEMPLATE);
  const runtime = finalStage(dockerfile);
  const stage = (alias: string) => {
    const found = dockerfile.stages.find((s) => s.alias === alias);
    if (!found) throw new Error(`no stage ${alias}`);
    return found;
  };
  const runs = (alias: string) =>
    instructionsOf(stage(alias), 'RUN')
      .map((i) => i.args)
      .join('\n');

  test('prunes the workspace to ARG SERVICE with turbo prune --docker', () => {
    expect(instructionsOf(stage('pruner'), 'ARG').map((i) => i.args)).toContain('SERVICE');
    expect(runs('pruner')).toMatch(/turbo prune "@tenantmesh\/\$\{SERVICE\}" --docker/);
  });

  test('installs from the pruned lockfile before copying sources, then builds with turbo', () => {
    const builder = stage('builder').instructions.map((i) => `${i.keyword} ${i.args}`);
    const manifests = builder.findIndex((l) => l.startsWith('COPY --from=pruner /pruned/json/'));
    const install = builder.indexOf('RUN pnpm install --frozen-lockfile');
    const sources = builder.findIndex((l) => l.startsWith('COPY --from=pruner /pruned/full/'));
    const build = builder.findIndex((l) =>
      /^RUN turbo run build --filter="@tenantmesh\/\$\{SERVICE\}"/.test(l),
    );
    expect([manifests, install, sources, build].every((i) => i >= 0)).toBe(true);
    expect(manifests).toBeLessThan(install);
    expect(install).toBeLessThan(sources);
    expect(sources).toBeLessThan(build);
  });

  test('ships only production dependencies (pnpm deploy --prod), copied from the builder', () => {
    expect(runs('builder')).toMatch(
      /pnpm --filter "@tenantmesh\/\$\{SERVICE\}" deploy --prod --legacy \/out/,
    );
    const copies = instructionsOf(runtime, 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=builder /out/ ./');
    // No toolchain in the runtime stage: nothing installs or builds there.
    expect(
      instructionsOf(runtime, 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).not.toMatch(/pnpm|turbo|npm i/);
  });

  test('runs as uid 10001 with NODE_ENV=production, listening on $PORT on every interface', () => {
    expect(finalUser(dockerfile)).toBe('10001:10001');
    const env = instructionsOf(runtime, 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/PORT=\$\{PORT\}/);
    expect(env).toMatch(/SECRETS_DIR=\/run\/secrets/);
    expect(instructionsOf(runtime, 'EXPOSE').map((i) => i.args)).toEqual([
      expect.stringMatching(/^\$\{PORT\}$/),
    ]);
  });

  test('starts dist/main.js, which is where every service builds its entry point', () => {
    expect(instructionsOf(runtime, 'CMD').map((i) => i.args)).toEqual(['["node", "dist/main.js"]']);
    // pnpm deploy puts the service's own package at /app, so its `main` is the path CMD runs.
    for (const service of serviceNames()) {
      const manifest = JSON.parse(fs.readFileSync(repoPath('services', service, 'package.json'), 'utf8')) as {
        name: string;
        main?: string;
      };
      expect({ service, name: manifest.name, main: manifest.main }).toEqual({
        service,
        name: `@tenantmesh/${service}`,
        main: 'dist/main.js',
      });
    }
  });

  test('checks /healthz with node (the slim image has no curl), from a file that exists', () => {
    const [healthcheck] = instructionsOf(runtime, 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/CMD \["node", "\/usr\/local\/lib\/tenantmesh\/healthcheck\.cjs"\]$/);
    expect(instructionsOf(runtime, 'COPY').map((i) => i.args)).toContain(
      'infra/docker/healthcheck.cjs /usr/local/lib/tenantmesh/healthcheck.cjs',
    );
    expect(fs.existsSync(repoPath('infra/docker/healthcheck.cjs'))).toBe(true);
    expect(fs.existsSync(repoPath('tsconfig.base.json'))).toBe(true);
  });

  test('installs pnpm and turbo pinned to the versions the repository uses', () => {
    const root = JSON.parse(fs.readFileSync(repoPath('package.json'), 'utf8')) as {
      packageManager: string;
      devDependencies: Record<string, string>;
    };
    expect(runs('base')).toContain(
      `npm install -g ${root.packageManager} turbo@${root.devDependencies.turbo}`,
    );
    expect(text).not.toMatch(/corepack enable/);
  });
});

describe('the build context (.dockerignore)', () => {
  const patterns = fs
    .readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  test.each(['**/node_modules', '**/dist', '.dev', '**/.turbo', '**/test-results', '.git'])(
    'keeps %s out of every image',
    (pattern) => {
      expect(patterns).toContain(pattern);
    },
  );

  test('does not exclude what the images copy', () => {
    for (const pattern of patterns) {
      expect([
        'infra',
        'infra/docker',
        'infra/postgres',
        'tsconfig.base.json',
        'pnpm-lock.yaml',
      ]).not.toContain(pattern);
    }
  });
});

describe('the HEALTHCHECK script (infra/docker/healthcheck.cjs)', () => {
  const script = repoPath('infra/docker/healthcheck.cjs');
  const runScript = (port: number, args: string[] = []) =>
    new Promise<number>((resolve) => {
      execFile(
        process.execPath,
        [script, ...args],
        { env: { PORT: String(port) }, timeout: 10_000 },
        (error) => resolve(error ? Number((error as { code?: number }).code ?? 1) : 0),
      );
    });
  let server: http.Server;
  let port: number;
  let statuses: Record<string, number>;
  const seen: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(statuses[req.url ?? ''] ?? 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('passes when /healthz answers 200', async () => {
    statuses = { '/healthz': 200 };
    await expect(runScript(port)).resolves.toBe(0);
    expect(seen[seen.length - 1]).toBe('/healthz');
  });

  test('fails when /healthz answers anything else', async () => {
    statuses = { '/healthz': 503 };
    await expect(runScript(port)).resolves.toBe(1);
  });

  test('checks /readyz when asked, and refuses any other path', async () => {
    statuses = { '/readyz': 200 };
    await expect(runScript(port, ['/readyz'])).resolves.toBe(0);
    expect(seen[seen.length - 1]).toBe('/readyz');
    await expect(runScript(port, ['/metrics'])).resolves.toBe(2);
  });

  test('fails when nothing listens', async () => {
    await expect(runScript(await freePort())).resolves.toBe(1);
  });
});
