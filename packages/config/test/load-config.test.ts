import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, httpSettings, KeyRing, keyRingSecret, loadConfig, textSecret } from '../src';

const key = () => randomBytes(32).toString('base64');
let dir: string;
const write = (name: string, content: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
};
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('settings', () => {
  it('returns a frozen, typed object with defaults applied', () => {
    const config = loadConfig({ PORT: '8080' }, { settings: { http: httpSettings(3000) } });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: '100kb',
      shutdownGraceMs: 10000,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reports every problem at once, across concerns', () => {
    const problems = problemsOf(() =>
      loadConfig(
        { PORT: 'eighty', BODY_LIMIT: 'lots', SHUTDOWN_GRACE_MS: '-1' },
        { settings: { http: httpSettings(3000), other: z.object({ REQUIRED_THING: z.string() }) } },
      ),
    );
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/BODY_LIMIT/);
    expect(problems.join('\n')).toMatch(/SHUTDOWN_GRACE_MS/);
    expect(problems.join('\n')).toMatch(/REQUIRED_THING/);
  });
});

describe('secrets', () => {
  it('reads a secret from NAME_FILE, and from SECRETS_DIR/name by default', () => {
    const file = write('elsewhere', 'from-file-var\n');
    write('cookie_secret', 'from-dir');
    const spec = { settings: {}, secrets: { a: textSecret('api_secret'), b: textSecret('cookie_secret') } };
    const config = loadConfig({ API_SECRET_FILE: file, SECRETS_DIR: dir }, spec);
    expect(config.secrets).toEqual({ a: 'from-file-var', b: 'from-dir' });
  });

  it('refuses to start when a secret is given as a plain environment variable, naming the variable', () => {
    write('cookie_secret', 'from-file');
    const problems = problemsOf(() =>
      loadConfig(
        { SECRETS_DIR: dir, COOKIE_SECRET: 'plain-value' },
        { settings: {}, secrets: { c: textSecret('cookie_secret') } },
      ),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/COOKIE_SECRET is set as a plain environment variable/);
    expect(problems[0]).not.toContain('plain-value');
  });

  it.each([
    ['missing', () => path.join(dir, 'absent'), /does not exist/],
    ['empty', () => write('empty', '  \n'), /is empty/],
    ['a directory', () => dir, /is a directory/],
  ])('names the file but not its content when the file is %s', (_what, fileOf, reason) => {
    const file = fileOf();
    const problems = problemsOf(() =>
      loadConfig({ S_FILE: file }, { settings: {}, secrets: { s: textSecret('s') } }),
    );
    expect(problems[0]).toMatch(reason);
    expect(problems[0]).toContain(file);
  });

  it('names an unreadable file without reading it', () => {
    if (process.getuid?.() === 0) {
      // root reads any file: make it unreadable by making it a dangling path under a file instead
      const file = path.join(write('plain', 'x'), 'child');
      expect(
        problemsOf(() => loadConfig({ S_FILE: file }, { settings: {}, secrets: { s: textSecret('s') } }))[0],
      ).toContain(file);
      return;
    }
    const file = write('locked', 'topsecret');
    fs.chmodSync(file, 0o000);
    expect(
      problemsOf(() => loadConfig({ S_FILE: file }, { settings: {}, secrets: { s: textSecret('s') } }))[0],
    ).toMatch(/is not readable/);
  });

  it('treats an absent optional secret as undefined, but still refuses a plain env var for it', () => {
    const spec = { settings: {}, secrets: { pw: textSecret('db_password', { optional: true }) } };
    expect(loadConfig({ SECRETS_DIR: dir }, spec).secrets.pw).toBeUndefined();
    expect(problemsOf(() => loadConfig({ SECRETS_DIR: dir, DB_PASSWORD: 'x' }, spec))[0]).toMatch(
      /DB_PASSWORD/,
    );
  });

  it('refuses an optional secret whose NAME_FILE points at a missing file (a typo, not an absence)', () => {
    const spec = { settings: {}, secrets: { pw: textSecret('db_password', { optional: true }) } };
    const problems = problemsOf(() => loadConfig({ DB_PASSWORD_FILE: path.join(dir, 'typo') }, spec));
    expect(problems[0]).toMatch(/does not exist/);
  });

  it('types an optional secret as possibly undefined', () => {
    const config = loadConfig(
      { SECRETS_DIR: dir },
      { settings: {}, secrets: { pw: textSecret('x', { optional: true }) } },
    );
    const value: string | undefined = config.secrets.pw;
    // @ts-expect-error an optional secret is not a plain string
    const notPlain: string = config.secrets.pw;
    expect([value, notPlain]).toEqual([undefined, undefined]);
  });

  it('enforces a minimum length without printing the value', () => {
    write('short', 'abc');
    const problems = problemsOf(() =>
      loadConfig(
        { SECRETS_DIR: dir },
        { settings: {}, secrets: { s: textSecret('short', { minLength: 32 }) } },
      ),
    );
    expect(problems[0]).toMatch(/holds 3 characters, at least 32/);
    expect(problems[0]).not.toContain('abc');
  });

  it('collects secret problems together with settings problems', () => {
    const problems = problemsOf(() =>
      loadConfig(
        { PORT: 'x', A: 'plain' },
        { settings: { http: httpSettings(1) }, secrets: { a: textSecret('a'), b: textSecret('b_missing') } },
      ),
    );
    expect(problems).toHaveLength(3);
  });
});

describe('key rings', () => {
  const ringSpec = { settings: {}, secrets: { ring: keyRingSecret('token_keys_a_b') } };
  const load = () => loadConfig({ SECRETS_DIR: dir }, ringSpec).secrets.ring;

  it('loads an ordered ring; the newest key signs and every key verifies', () => {
    write(
      'token_keys_a_b',
      JSON.stringify({
        keys: [
          { kid: 'old', key: key() },
          { kid: 'new', key: key() },
        ],
      }),
    );
    const ring = load();
    expect(ring).toBeInstanceOf(KeyRing);
    expect(ring.signingKey().kid).toBe('new');
    expect(ring.find('old')).toBeDefined();
  });

  it('a staged key (notBefore in the future) verifies but does not sign until then', () => {
    const later = new Date(Date.now() + 60_000);
    write(
      'token_keys_a_b',
      JSON.stringify({
        keys: [
          { kid: 'k1', key: key() },
          { kid: 'k2', key: key(), notBefore: later.toISOString() },
        ],
      }),
    );
    const ring = load();
    expect(ring.signingKey().kid).toBe('k1');
    expect(ring.find('k2')).toBeDefined();
    expect(ring.signingKey(new Date(later.getTime() + 1)).kid).toBe('k2');
  });

  it.each([
    ['not JSON', 'kid=k1', /not valid JSON/],
    ['no keys array', '{}', /no "keys" array/],
    ['an empty ring', '{"keys":[]}', /empty "keys" array/],
    [
      'a too-short key',
      JSON.stringify({ keys: [{ kid: 'k1', key: Buffer.alloc(16, 7).toString('base64') }] }),
      /16 bytes, at least 32/,
    ],
    [
      'a duplicate kid',
      JSON.stringify({
        keys: [
          { kid: 'k1', key: key() },
          { kid: 'k1', key: key() },
        ],
      }),
      /duplicate kid "k1"/,
    ],
    ['a bad kid', JSON.stringify({ keys: [{ kid: 'has space', key: key() }] }), /"kid" must be/],
    [
      'a non-base64 key',
      JSON.stringify({ keys: [{ kid: 'k1', key: 'not base64!!' }] }),
      /must be a base64 string/,
    ],
    [
      'a bad notBefore',
      JSON.stringify({ keys: [{ kid: 'k1', key: key(), notBefore: 'soon' }] }),
      /notBefore/,
    ],
  ])('refuses %s with an error naming the file and never a key', (_what, content, reason) => {
    const file = write('token_keys_a_b', content);
    const problems = problemsOf(load);
    expect(problems[0]).toMatch(reason);
    expect(problems[0]).toContain(file);
    for (const k of content.match(/"key":"([^"]+)"/g) ?? [])
      expect(problems[0]).not.toContain(k.slice(7, -1));
  });

  it('re-reads its file live: a key added is accepted and a key dropped is refused, without a restart', () => {
    const k1 = { kid: 'k1', key: key() };
    const k2 = { kid: 'k2', key: key() };
    write('token_keys_a_b', JSON.stringify({ keys: [k1] }));
    const ring = load();
    write('token_keys_a_b', JSON.stringify({ keys: [k1, k2] }));
    expect(ring.reload()).toBe(true);
    expect(ring.kids).toEqual(['k1', 'k2']);
    write('token_keys_a_b', JSON.stringify({ keys: [k2] }));
    ring.reload();
    expect(ring.find('k1')).toBeUndefined();
    expect(ring.signingKey().kid).toBe('k2');
  });

  it('keeps its last good keys when the file turns bad mid-rotation, and reports the error', () => {
    write('token_keys_a_b', JSON.stringify({ keys: [{ kid: 'k1', key: key() }] }));
    const errors: Error[] = [];
    const ring = loadConfig({ SECRETS_DIR: dir }, ringSpec, {
      ringOptions: { onReloadError: (e) => errors.push(e) },
    }).secrets.ring;
    write('token_keys_a_b', '{"keys": [');
    expect(ring.reload()).toBe(false);
    expect(ring.kids).toEqual(['k1']);
    expect(errors[0]?.message).toMatch(/not valid JSON/);
  });

  it('watch() picks up a change by itself', async () => {
    write('token_keys_a_b', JSON.stringify({ keys: [{ kid: 'k1', key: key() }] }));
    const ring = load().watch(20);
    try {
      write('token_keys_a_b', JSON.stringify({ keys: [{ kid: 'k9', key: key() }] }));
      const deadline = Date.now() + 5000;
      while (ring.signingKey().kid !== 'k9' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(ring.signingKey().kid).toBe('k9');
    } finally {
      ring.stop();
    }
  });
});
