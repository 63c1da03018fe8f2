import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

/** The bullets of the security page, by section number. */
function pageBullets(): string[] {
  return read('docs/security-page.txt')
    .split('\n')
    .filter((l) => l.startsWith('- '))
    .map((l) => l.slice(2).trim());
}

interface Control {
  text: string;
  status: string;
  tests: string[];
}

function controls(): Control[] {
  const out: Control[] = [];
  for (const line of read('docs/security.md').split('\n')) {
    if (line.startsWith('### ')) out.push({ text: line.slice(4).trim(), status: '', tests: [] });
    else if (out.length && line.startsWith('- Status:')) out.at(-1)!.status = line.slice(9).trim();
    else if (out.length && line.startsWith('- Proved by:')) {
      out.at(-1)!.tests = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    }
  }
  return out;
}

describe('docs/security.md, the page pnpm controls prints', () => {
  it('has one entry for every control on the security page, word for word', () => {
    const listed = controls().map((c) => c.text);
    for (const bullet of pageBullets()) expect(listed).toContain(bullet);
  });

  it('gives every control a status, and every implemented one at least one proving test', () => {
    for (const control of controls()) {
      expect({ control: control.text, hasStatus: control.status.length > 0 }).toEqual({
        control: control.text,
        hasStatus: true,
      });
      if (/^(implemented|partial)/.test(control.status)) {
        expect({ control: control.text, tests: control.tests.length > 0 }).toEqual({
          control: control.text,
          tests: true,
        });
      }
    }
  });

  it('names only test files that exist', () => {
    for (const control of controls()) {
      for (const test of control.tests) {
        expect({ test, exists: fs.existsSync(path.join(ROOT, test)) && /\.test\.ts$/.test(test) }).toEqual({
          test,
          exists: true,
        });
      }
    }
  });
});
