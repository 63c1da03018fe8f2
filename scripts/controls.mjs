#!/usr/bin/env node
// `pnpm controls`: runs the tests that prove each control of the security page (as listed in
// docs/security.md) and prints the page with a mark against each control:
//   ✓ every proving test passed   ✗ a proving test failed or did not run   · not provable here
// Exits 1 if any control is ✗.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Sections of docs/security.md: `## title`, then `### control` with Status / Proved by lines. */
export function readControls(markdown) {
  const sections = [];
  let control;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) sections.push({ title: line.slice(3).trim(), controls: [] });
    else if (line.startsWith('### ')) {
      control = { text: line.slice(4).trim(), status: '', tests: [] };
      sections.at(-1)?.controls.push(control);
    } else if (control && line.startsWith('- Status:')) control.status = line.slice(9).trim();
    else if (control && line.startsWith('- Proved by:')) {
      control.tests = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    }
  }
  return sections;
}

function main() {
  const sections = readControls(fs.readFileSync(path.join(root, 'docs', 'security.md'), 'utf8'));
  const files = [...new Set(sections.flatMap((s) => s.controls.flatMap((c) => c.tests)))];
  const out = path.join(root, 'test-results', 'controls.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  process.stdout.write(`running ${files.length} proving test files…\n`);
  spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      '--silent',
      '--json',
      `--outputFile=${out}`,
      '--runTestsByPath',
      ...files,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const passed = new Map();
  if (fs.existsSync(out)) {
    for (const suite of JSON.parse(fs.readFileSync(out, 'utf8')).testResults) {
      passed.set(path.relative(root, suite.name), suite.status === 'passed');
    }
  }

  let failures = 0;
  const lines = ['', 'Security — concrete controls, what we do (marks from this run)', ''];
  for (const section of sections) {
    lines.push(section.title);
    for (const control of section.controls) {
      let mark = '·';
      if (control.tests.length) {
        const ok = control.tests.every((t) => passed.get(t) === true);
        mark = ok ? '✓' : '✗';
        if (!ok) failures++;
      }
      const note = control.status.startsWith('implemented') ? '' : `   [${control.status}]`;
      lines.push(`  ${mark} ${control.text}${note}`);
      if (mark === '✗') {
        for (const t of control.tests.filter((t) => passed.get(t) !== true)) {
          lines.push(`      ${passed.has(t) ? 'failed' : 'did not run'}: ${t}`);
        }
      }
    }
    lines.push('');
  }
  lines.push(
    failures ? `${failures} control(s) not proved` : 'every implemented control is proved by a passing test',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(failures ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
