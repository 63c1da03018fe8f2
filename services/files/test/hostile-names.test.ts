import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createFilesContext, type FilesContext } from './support/files-context';

/**
 * Raw path segments as they arrive after `/objects/<uid>/` (exactly these bytes on the wire:
 * nothing here is re-encoded by an HTTP client). Every one must be refused with 400
 * invalid_object_name, and nothing may be written anywhere.
 */
const HOSTILE: readonly string[] = [
  // dot segments, plain and encoded, once, twice and three times
  '.',
  '..',
  '%2e',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%252e%252e',
  '%25252e%25252e',
  '%252e',
  // traversal and separators
  '../x',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%252f..%252fetc%252fpasswd',
  'a/b',
  'a%2fb',
  'a%2Fb',
  'a%252fb',
  '%2fetc%2fpasswd',
  'a\\b',
  '..\\..\\windows',
  'a%5cb',
  '..%5c..%5cwindows',
  'a%255cb',
  // NUL and other controls (C0, DEL, C1)
  '%00',
  'a%00b',
  'a.txt%00.png',
  'a%0ab',
  'a%0d%0aSet-Cookie:x',
  '%09tab',
  'a%1fb',
  'a%7fb',
  'a%c2%85b',
  'a%c2%9bb',
  // bidi controls and zero-width / invisible characters
  'evil%e2%80%aetxt.exe',
  '%e2%80%ae',
  'a%e2%80%aab',
  'a%e2%80%8fb',
  'a%e2%81%a6b',
  'a%e2%81%a9b',
  'a%d8%9cb',
  '%e2%80%8b',
  'a%e2%80%8cb',
  'a%e2%80%8db',
  'a%e2%81%a0b',
  '%ef%bb%bfbom',
  'a%e2%80%a8b',
  'a%e2%80%a9b',
  'a%ef%bf%beb',
  // malformed and overlong UTF-8, lone surrogates, broken escapes
  '%c0%ae%c0%ae',
  '%e0%80%ae',
  '%ff',
  '%ed%a0%80',
  '%',
  '%zz',
  'a%2',
  // whitespace tricks
  '%20',
  '%20leading',
  'trailing%20',
  // too long: 1025 bytes of ASCII, 1026 bytes of two-byte characters
  'a'.repeat(1025),
  '%c3%a9'.repeat(513),
];

async function send(port: number, method: string, rawPath: string, token: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: rawPath, headers: { 'X-User-Token': token } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(method === 'PUT' ? 'payload' : undefined);
  });
}

function snapshot(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

describe('files service: hostile object names', () => {
  let ctx: FilesContext;
  let server: http.Server;
  let port: number;
  let uid: string;

  beforeAll(async () => {
    ctx = await createFilesContext();
    uid = await ctx.newUser();
    server = http.createServer(ctx.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await ctx.close();
  });

  it('has a corpus of at least 50 hostile names', () => {
    expect(new Set(HOSTILE).size).toBe(HOSTILE.length);
    expect(HOSTILE.length).toBeGreaterThanOrEqual(50);
  });

  it('refuses every hostile name with 400 invalid_object_name and writes nothing, anywhere', async () => {
    // The store's root lives inside this sandbox: a name that escaped it would appear beside it.
    const sandbox = ctx.root;
    const passwd = fs.statSync('/etc/passwd');
    const before = snapshot(sandbox);
    const token = ctx.tokenFor(uid);
    const outcomes: { name: string; method: string; status: number; code?: string }[] = [];
    for (const name of HOSTILE) {
      for (const method of ['PUT', 'GET', 'HEAD', 'DELETE']) {
        const res = await send(port, method, `/objects/${uid}/${name}`, token);
        const code = res.body ? (JSON.parse(res.body) as { code: string }).code : undefined;
        outcomes.push({
          name,
          method,
          status: res.status,
          code: method === 'HEAD' ? 'invalid_object_name' : code,
        });
      }
    }
    const wrong = outcomes.filter((o) => o.status !== 400 || o.code !== 'invalid_object_name');
    expect(wrong).toEqual([]);
    expect(snapshot(sandbox)).toEqual(before);
    expect(fs.statSync('/etc/passwd').mtimeMs).toBe(passwd.mtimeMs);
    expect(await ctx.owner.sql`select 1 from file_objects`).toHaveLength(0);
  });

  it('still accepts ordinary names from many scripts', async () => {
    const names = [
      'report.pdf',
      'café.txt',
      '日本語のファイル.txt',
      'a b.txt',
      '100% done.txt',
      '🎉.png',
      '.hidden',
      'x'.repeat(1024),
    ];
    const token = ctx.tokenFor(uid);
    for (const name of names) {
      const res = await send(port, 'PUT', `/objects/${uid}/${encodeURIComponent(name)}`, token);
      expect({ name, status: res.status }).toEqual({ name, status: 201 });
      expect(JSON.parse(res.body).name).toBe(name);
    }
  });
});
