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

describe('notes main', () => {
  let db: TestDatabase;
  let secrets: SecretsDir;
  beforeAll(async () => {
    db = await createEmptyDatabase();
    secrets = createSecretsDir();
    secrets.writeRing('token_keys_gateway_notes');
  });
  afterAll(async () => {
    await db.drop();
    secrets.remove();
  });

  it('boots on an empty database (migrating it), answers /readyz, and drains on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const started = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(port),
    });
    const ready = await started.ready(port);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
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
      DB_OWNER_PASSWORD: 'correct-horse-battery',
    });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('DB_OWNER_PASSWORD is set as a plain environment variable');
    expect(started.output()).not.toContain('correct-horse-battery');
  });

  it('lists every configuration problem at once', async () => {
    const started = startServiceProcess(MAIN, {
      DATABASE_URL: 'postgres://u:pw@127.0.0.1/x',
      PORT: 'high',
      SECRETS_DIR: '/nonexistent',
    });
    expect(await started.exited).toBe(1);
    const out = started.output();
    expect(out).toContain('must not contain a password');
    expect(out).toContain('PORT');
    expect(out).toContain('token_keys_gateway_notes');
    expect(out).not.toContain(':pw@');
  });
});
