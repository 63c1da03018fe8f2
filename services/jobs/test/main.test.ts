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

describe('jobs main: one image, two roles, each with only its own keys', () => {
  let db: TestDatabase;
  let apiSecrets: SecretsDir;
  let workerSecrets: SecretsDir;
  beforeAll(async () => {
    db = await createEmptyDatabase();
    apiSecrets = createSecretsDir();
    apiSecrets.writeRing('token_keys_gateway_jobs');
    workerSecrets = createSecretsDir();
    workerSecrets.writeRing('token_keys_jobs_files');
    workerSecrets.writeRing('token_keys_jobs_events');
  });
  afterAll(async () => {
    await db.drop();
    apiSecrets.remove();
    workerSecrets.remove();
  });

  it('JOBS_MODE=api boots with the gateway→jobs ring alone and serves /jobs', async () => {
    const port = await freePort();
    const api = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: apiSecrets.dir,
      PORT: String(port),
      JOBS_MODE: 'api',
    });
    await api.ready(port);
    expect((await fetch(`http://127.0.0.1:${port}/jobs`)).status).toBe(401); // there, and guarded
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });

  it('JOBS_MODE=worker boots with the jobs→files/events rings alone and serves no /jobs', async () => {
    const port = await freePort();
    const worker = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: workerSecrets.dir,
      PORT: String(port),
      JOBS_MODE: 'worker',
      FILES_URL: 'http://127.0.0.1:9',
      EVENTS_URL: 'http://127.0.0.1:9',
    });
    await worker.ready(port);
    expect((await fetch(`http://127.0.0.1:${port}/jobs`)).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/tenantmesh_jobs_dead_total\{type="account.purge"[^}]*\} 0/);
    expect(metrics).toMatch(/tenantmesh_jobs\{state="queued"[^}]*\} \d+/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('refuses worker mode without FILES_URL and EVENTS_URL, and an api without its ring, naming what is missing', async () => {
    const noUrls = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: workerSecrets.dir,
      PORT: String(await freePort()),
      JOBS_MODE: 'worker',
    });
    expect(await noUrls.exited).toBe(1);
    expect(noUrls.output()).toContain('FILES_URL and EVENTS_URL are required');
    const noRing = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: workerSecrets.dir,
      PORT: String(await freePort()),
      JOBS_MODE: 'api',
    });
    expect(await noRing.exited).toBe(1);
    expect(noRing.output()).toContain('token_keys_gateway_jobs');
  });

  it('refuses a worker whose heartbeat is too slow for a job type’s lock timeout (the reaper would take live jobs)', async () => {
    const slow = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: workerSecrets.dir,
      PORT: String(await freePort()),
      JOBS_MODE: 'worker',
      FILES_URL: 'http://127.0.0.1:9',
      EVENTS_URL: 'http://127.0.0.1:9',
      JOBS_DIAGNOSTIC_TYPES: 'true', // diagnostics.sleep: 3 s lock timeout
      JOBS_HEARTBEAT_MS: '2000',
    });
    expect(await slow.exited).toBe(1);
    expect(slow.output()).toContain('JOBS_HEARTBEAT_MS=2000 is too slow for diagnostics.sleep');
  });
});
