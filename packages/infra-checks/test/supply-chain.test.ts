import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoPath } from './support/deploy-repo';

/**
 * The supply-chain and disclosure controls of the security page (sections 7 and 8), as files:
 * Dependabot opens grouped weekly updates per ecosystem, every GitHub workflow runs with least
 * privilege and pinned actions, the test job installs only what the lockfile says, SECURITY.md
 * states the disclosure commitments, and the gateway's security.txt points at it. (Pinned base
 * images and --frozen-lockfile installs in Dockerfiles: dockerfile.test.ts.)
 */

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below.
type Yaml = any;
const loadYaml = (file: string): Yaml => parse(fs.readFileSync(repoPath(file), 'utf8'));

const WORKFLOW_DIR = '.github/workflows';
const WORKFLOWS = fs
  .readdirSync(repoPath(WORKFLOW_DIR))
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => path.posix.join(WORKFLOW_DIR, name))
  .sort();

/**
 * KNOWN GAP: these actions are pinned to exact version tags, not to commit SHAs, because the SHAs
 * could not be looked up (no internet) where the workflows were written. A tag can be moved; a
 * SHA cannot. Fill in `owner/action@<40-hex sha> # vX.Y.Z` and delete the entry here. Anything
 * else that is not SHA-pinned fails.
 */
const KNOWN_TAG_PINNED = new Set([
  'actions/checkout@v4.2.2',
  'actions/setup-node@v4.4.0',
  'actions/upload-artifact@v4.6.2',
  'aquasecurity/trivy-action@0.28.0',
  'github/codeql-action/upload-sarif@v3.28.18',
]);

function usesOf(workflow: Yaml): string[] {
  return Object.values<Yaml>(workflow.jobs ?? {}).flatMap((job) => [
    ...(typeof job.uses === 'string' ? [job.uses] : []),
    ...(job.steps ?? []).flatMap((step: Yaml) => (typeof step.uses === 'string' ? [step.uses] : [])),
  ]);
}

describe('.github/dependabot.yml', () => {
  const config = loadYaml('.github/dependabot.yml');
  const updates: Yaml[] = config.updates;

  test('is version 2', () => {
    expect(config.version).toBe(2);
  });

  test.each(['npm', 'docker', 'github-actions'])(
    'opens weekly %s updates, grouped into one pull request',
    (eco) => {
      const entries = updates.filter((u) => u['package-ecosystem'] === eco);
      expect(entries).toHaveLength(1);
      const [entry] = entries;
      expect(entry.schedule.interval).toBe('weekly');
      const groups = Object.values<Yaml>(entry.groups ?? {});
      expect(groups).toHaveLength(1);
      expect(groups[0].patterns).toEqual(['*']);
    },
  );

  test('watches every directory holding a Dockerfile, npm and actions at the root', () => {
    const dirs = (u: Yaml): string[] => u.directories ?? [u.directory];
    const docker = updates.find((u) => u['package-ecosystem'] === 'docker');
    expect(dirs(docker).sort()).toEqual(['/infra/docker', '/infra/docker/postgres', '/infra/postgres']);
    for (const dockerDir of dirs(docker)) {
      expect(fs.existsSync(repoPath(dockerDir, 'Dockerfile'))).toBe(true);
    }
    expect(dirs(updates.find((u) => u['package-ecosystem'] === 'npm'))).toEqual(['/']);
    expect(dirs(updates.find((u) => u['package-ecosystem'] === 'github-actions'))).toEqual(['/']);
  });
});

describe('GitHub workflows', () => {
  test('include CI and the dependency audit', () => {
    expect(WORKFLOWS).toEqual(
      expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/audit.yml']),
    );
  });

  describe.each(WORKFLOWS)('%s', (file) => {
    const workflow = loadYaml(file);

    test('declares top-level permissions, read-only, never write-all', () => {
      const permissions = workflow.permissions;
      expect(permissions).toBeDefined();
      expect(permissions).not.toBe('write-all');
      expect(typeof permissions).toBe('object');
      for (const [scope, level] of Object.entries(permissions)) {
        expect(`${scope}: ${level}`).toMatch(/: (read|none)$/);
      }
    });

    test('grants a job more only for SARIF upload (security-events: write)', () => {
      for (const job of Object.values<Yaml>(workflow.jobs)) {
        if (job.permissions === undefined) continue;
        expect(job.permissions).not.toBe('write-all');
        for (const [scope, level] of Object.entries(job.permissions)) {
          if (level === 'write') expect(scope).toBe('security-events');
        }
      }
    });

    test('pins every action to a full commit SHA (or is a listed known gap)', () => {
      const uses = usesOf(workflow);
      expect(uses.length).toBeGreaterThan(0);
      const unpinned = uses.filter((u) => !/@[0-9a-f]{40}$/.test(u) && !KNOWN_TAG_PINNED.has(u));
      expect(unpinned).toEqual([]);
      const gaps = uses.filter((u) => KNOWN_TAG_PINNED.has(u));
      if (gaps.length > 0) {
        console.warn(`KNOWN GAP ${file}: tag-pinned, not SHA-pinned: ${[...new Set(gaps)].join(', ')}`);
      }
      // Even the known gaps name an exact version, never a moving major tag like @v4.
      for (const u of uses.filter((x) => KNOWN_TAG_PINNED.has(x))) {
        expect(u).toMatch(/@v?\d+\.\d+\.\d+$/);
      }
    });
  });

  test('the known-gap list names only actions still in use (delete entries once SHA-pinned)', () => {
    const used = new Set(WORKFLOWS.flatMap((file) => usesOf(loadYaml(file))));
    expect([...KNOWN_TAG_PINNED].filter((u) => !used.has(u))).toEqual([]);
  });

  test('CI tests with lockfile-only installs (--frozen-lockfile, via .ci/run)', () => {
    const ci = loadYaml('.github/workflows/ci.yml');
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    const runs: string[] = ci.jobs.test.steps.flatMap((s: Yaml) => (s.run ? [s.run] : []));
    expect(runs.some((r) => /\.ci\/run\b|pnpm install --frozen-lockfile/.test(r))).toBe(true);
    expect(runs.some((r) => /pnpm (i|install)\b(?!.*--frozen-lockfile)/.test(r))).toBe(false);
    if (runs.some((r) => /\.ci\/run\b/.test(r))) {
      expect(fs.readFileSync(repoPath('.ci/run'), 'utf8')).toMatch(/^pnpm install --frozen-lockfile$/m);
    }
    expect(ci.jobs.test.services.postgres.image).toMatch(/^postgres:15/);
    expect(ci.jobs.test.services.redis.image).toMatch(/^redis:7/);
  });

  test('CI builds every service image and uploads a Trivy SARIF scan of each', () => {
    const images = loadYaml('.github/workflows/ci.yml').jobs.images;
    // Every service the repository has, not a list that can fall behind.
    const services = fs.readdirSync(repoPath('services')).sort();
    expect(services.length).toBeGreaterThanOrEqual(5);
    expect([...images.strategy.matrix.service].sort()).toEqual(services);
    const steps: Yaml[] = images.steps;
    expect(steps.some((s) => /docker build -f infra\/docker\/Dockerfile/.test(s.run ?? ''))).toBe(true);
    const trivy = steps.find((s) => String(s.uses).startsWith('aquasecurity/trivy-action@'));
    expect(trivy?.with.format).toBe('sarif');
    const upload = steps.find((s) => String(s.uses).startsWith('github/codeql-action/upload-sarif@'));
    expect(upload?.with.sarif_file).toBe(trivy?.with.output);
    expect(images.permissions['security-events']).toBe('write');
  });

  test('the audit runs pnpm audit --audit-level=high when JS/TS or the lockfile changes', () => {
    const audit = loadYaml('.github/workflows/audit.yml');
    for (const event of ['push', 'pull_request']) {
      expect(audit.on[event].paths).toEqual(
        expect.arrayContaining(['pnpm-lock.yaml', '**/*.ts', '**/package.json']),
      );
    }
    const runs: string[] = Object.values<Yaml>(audit.jobs).flatMap((job) =>
      job.steps.flatMap((s: Yaml) => (s.run ? [s.run] : [])),
    );
    expect(runs).toContain('pnpm audit --audit-level=high');
  });
});

describe('responsible disclosure', () => {
  const policy = fs.readFileSync(repoPath('SECURITY.md'), 'utf8');

  test('SECURITY.md says where to report and what to include', () => {
    expect(policy).toContain('security@example.com');
    expect(policy).toMatch(/reproduction steps/i);
    expect(policy).toMatch(/## Scope/);
  });

  test('SECURITY.md commits to acknowledge in 2 business days, triage in 5, remediate critical in 30 days', () => {
    expect(policy).toMatch(/Acknowledge[^\n]*\|\s*2 business days/);
    expect(policy).toMatch(/Triage[^\n]*\|\s*5 business days/);
    expect(policy).toMatch(/critical[^\n]*\|\s*30 days/i);
  });

  test('SECURITY.md grants safe harbour to good-faith research that respects privacy and follows the policy', () => {
    expect(policy).toMatch(/## Safe harbour/);
    expect(policy).toContain(
      'We do not pursue legal action against good-faith security research that respects user privacy\nand follows this policy.',
    );
  });

  test("the gateway's security.txt Policy defaults to SECURITY.md", () => {
    const source = fs.readFileSync(
      repoPath('services/gateway/src/routes/security-txt/security-txt.ts'),
      'utf8',
    );
    expect(source).toMatch(
      /DEFAULT_POLICY_URL = 'https:\/\/github\.com\/[^/']+\/[^/']+\/blob\/main\/SECURITY\.md'/,
    );
    expect(source).toMatch(/policyUrl: settings\.policyUrl \?\? DEFAULT_POLICY_URL/);
  });
});
