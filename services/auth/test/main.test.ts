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

describe('auth main', () => {
  let db: TestDatabase;
  let secrets: SecretsDir;
  const env = (port: number): Record<string, string> => ({
    DATABASE_URL: db.url,
    SECRETS_DIR: secrets.dir,
    PORT: String(port),
    PUBLIC_ORIGIN: 'http://localhost:3000',
    GOOGLE_CLIENT_ID: 'client',
  });
  beforeAll(async () => {
    db = await createEmptyDatabase();
    secrets = createSecretsDir();
    secrets.writeRing('token_keys_gateway_auth');
    secrets.writeRing('cookie_keys');
    secrets.writeText('google_client_secret', 'local-secret');
  });
  afterAll(async () => {
    await db.drop();
    secrets.remove();
  });

  it('boots on an empty database (migrating it), answers /readyz, and drains on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const started = startServiceProcess(MAIN, env(port));
    expect(await (await started.ready(port)).json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  it('refuses to start with the OAuth client secret in a plain environment variable', async () => {
    const port = await freePort();
    const started = startServiceProcess(MAIN, { ...env(port), GOOGLE_CLIENT_SECRET: 'from-env' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('GOOGLE_CLIENT_SECRET is set as a plain environment variable');
    expect(started.output()).not.toContain('from-env');
  });

  it('refuses to start with no sign-in provider configured', async () => {
    const port = await freePort();
    const { GOOGLE_CLIENT_ID: _, ...withoutGoogle } = env(port);
    const started = startServiceProcess(MAIN, withoutGoogle);
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('no sign-in provider');
  });
});
