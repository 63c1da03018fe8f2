import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isListening } from '../src';

const START = path.join(__dirname, '..', 'dist', 'start.js');

/**
 * `pnpm start` on a machine with nothing but Node: embedded PostgreSQL (on its own port, never
 * the machine's 5432), generated secrets, every built service ready, Ctrl-C stops everything.
 */
/** A base port whose next `size` ports are all free (the dev stack uses fixed offsets from it). */
async function freePortBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the kernel's ephemeral range (32768+), where other suites' freePort() and every outgoing
    // connection take ports while this test runs.
    const base = 12000 + Math.floor(Math.random() * 18000);
    const taken = await Promise.all(
      Array.from({ length: size }, (_, i) => isListening('127.0.0.1', base + i, 200)),
    );
    if (!taken.some(Boolean)) return base;
  }
  throw new Error('no free block of ports found');
}

describe('pnpm start (devstack)', () => {
  let stateDir: string;
  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-devstack-'));
    fs.chmodSync(stateDir, 0o755);
  });
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('brings the mesh up on embedded Postgres with 0600 dev secrets, then stops cleanly on Ctrl-C', async () => {
    const pgPort = await freePort();
    const portBase = await freePortBlock(10);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DEV_STATE_DIR: stateDir,
      DEV_PG_PORT: String(pgPort),
      DEV_PORT_BASE: String(portBase),
      LOG_FORMAT: 'json',
    };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [START], { env });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('press Ctrl-C to stop') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(output).toContain('press Ctrl-C to stop');
      const notesPort = Number(/notes\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      const ready = await fetch(`http://127.0.0.1:${notesPort}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });

      // Sign-in works offline: the gateway sends the browser to the local OAuth provider, which
      // sends it back with a code that auth exchanges for a session cookie.
      const gatewayPort = Number(/gateway\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      const start = await fetch(`http://127.0.0.1:${gatewayPort}/auth/google`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const nonce = start.headers
        .getSetCookie()
        .find((c) => c.startsWith('__Host-tm_oauth='))!
        .split(';')[0]!;
      const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      const callback = new URL(atProvider.headers.get('location')!);
      const done = await fetch(`http://127.0.0.1:${gatewayPort}${callback.pathname}${callback.search}`, {
        redirect: 'manual',
        headers: { cookie: nonce },
      });
      expect(done.status).toBe(303);
      const session = done.headers
        .getSetCookie()
        .find((c) => c.startsWith('__Host-tm_session='))!
        .split(';')[0]!;
      const me = await fetch(`http://127.0.0.1:${gatewayPort}/api/me`, { headers: { cookie: session } });
      expect(await me.json()).toMatchObject({ email: 'dev@example.test', displayName: 'Dev User' });

      // Files: an upload through the gateway lands encrypted in the state dir and reads back.
      const origin = `http://localhost:${portBase}`;
      const upload = await fetch(`http://127.0.0.1:${gatewayPort}/api/files/hello.txt`, {
        method: 'PUT',
        headers: { cookie: session, origin, 'content-type': 'text/plain' },
        body: 'hello from the devstack',
      });
      expect(upload.status).toBe(201);
      const download = await fetch(`http://127.0.0.1:${gatewayPort}/api/files/hello.txt`, {
        headers: { cookie: session },
      });
      expect(await download.text()).toBe('hello from the devstack');
      // Events: the stream opens through the gateway and carries what a service publishes for the user.
      const abort = new AbortController();
      const stream = await fetch(`http://127.0.0.1:${gatewayPort}/api/events?lastEventId=0`, {
        headers: { cookie: session },
        signal: abort.signal,
      });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toContain('text/event-stream');
      const first = await stream.body!.getReader().read();
      expect(new TextDecoder().decode(first.value)).toMatch(/^retry: \d+/);
      abort.abort();
      const stored = fs.readdirSync(path.join(stateDir, 'files'), { recursive: true, withFileTypes: true });
      expect(stored.filter((e) => e.isFile())).toHaveLength(1);

      const secrets = path.join(stateDir, 'secrets');
      expect(fs.statSync(secrets).mode & 0o777).toBe(0o700);
      for (const file of fs.readdirSync(secrets))
        expect(fs.statSync(path.join(secrets, file)).mode & 0o777).toBe(0o600);
      // Secrets never reach the console.
      for (const file of fs.readdirSync(secrets)) {
        const value = fs.readFileSync(path.join(secrets, file), 'utf8').trim();
        expect(output).not.toContain(value);
      }
      expect(await isListening('127.0.0.1', pgPort)).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(await isListening('127.0.0.1', pgPort)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, 'pgdata', 'PG_VERSION'))).toBe(true); // kept between runs
  }, 90_000);
});
