#!/usr/bin/env node
// `pnpm test`: every test in the repository, in one jest run over all workspaces (real
// PostgreSQL and Redis: see docs/adr/0004-test-databases.md), then ONE closing line
// `N passed, N failed` that sums every suite. Extra jest arguments pass through, e.g.
//   pnpm test -- packages/db        pnpm test -- -t "runtime role"
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });
const jestJson = path.join(results, 'jest.json');
fs.rmSync(jestJson, { force: true });

const jestBin = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = process.argv.slice(2).filter((a) => a !== '--');
const run = spawnSync(process.execPath, [jestBin, '--ci', '--json', `--outputFile=${jestJson}`, ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});

let passed = 0;
let failed = 0;
if (fs.existsSync(jestJson)) {
  const report = JSON.parse(fs.readFileSync(jestJson, 'utf8'));
  passed += report.numPassedTests;
  // A suite that fails to run (syntax error, failed beforeAll) has no failed tests of its own.
  failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
}
const status = run.status ?? 1;
// jest can fail outside any test (globalTeardown found leaked resources): count that too.
if (status !== 0 && failed === 0) failed = 1;
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(status);
