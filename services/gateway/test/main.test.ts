import path from 'node:path';
import {
  createEmptyDatabase,
  createSecretsDir,
  freePort,
  type SecretsDir,
  startServiceProcess,
  type TestDatabase,
} from '@tenantmesh/testing';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');

describe('gateway main', () => {
  let db: TestDatabase;
  let secrets: SecretsDir;
  beforeAll(async () => {
    db = await createEmptyDatabase();
    secrets = createSecretsDir();
    secrets.writeRing('cookie_keys');
    secrets.writeRing('token_keys_gateway_notes');
  });
  afterAll(async () => {
    await db.drop();
    secrets.remove();
  });

  it('boots on an empty database (migrating it), is ready with PostgreSQL and Redis, and drains on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const started = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(port),
      PUBLIC_ORIGIN: 'http://localhost:3000',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      NOTES_URL: 'http://127.0.0.1:9',
    });
    const ready = await started.ready(port);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect(started.output()).toContain('migrations done');
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    expect(started.output()).toContain('shutting down');
  });

  it('refuses to start when a secret is set as a plain environment variable, and says which', async () => {
    const started = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(await freePort()),
      PUBLIC_ORIGIN: 'http://localhost:3000',
      COOKIE_KEYS: '{"keys":[{"kid":"k","key":"correct-horse-battery-staple-0123456789"}]}',
    });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('COOKIE_KEYS is set as a plain environment variable');
    expect(started.output()).not.toContain('correct-horse-battery');
  });

  it('lists every configuration problem at once, including the ring of a configured upstream', async () => {
    const started = startServiceProcess(MAIN, {
      DATABASE_URL: 'postgres://u:pw@127.0.0.1/x',
      PORT: 'high',
      SECRETS_DIR: '/nonexistent',
      FILES_URL: 'http://127.0.0.1:3002',
    });
    expect(await started.exited).toBe(1);
    const out = started.output();
    expect(out).toContain('must not contain a password');
    expect(out).toContain('PORT');
    expect(out).toContain('PUBLIC_ORIGIN');
    expect(out).toContain('cookie_keys');
    expect(out).toContain('token_keys_gateway_files');
    expect(out).not.toContain('token_keys_gateway_notes');
    expect(out).not.toContain(':pw@');
  });
});
