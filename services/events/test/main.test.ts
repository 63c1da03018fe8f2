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

describe('events main', () => {
  let db: TestDatabase;
  let secrets: SecretsDir;
  beforeAll(async () => {
    db = await createEmptyDatabase();
    secrets = createSecretsDir();
    secrets.writeRing('token_keys_gateway_events');
    secrets.writeRing('token_keys_jobs_events');
  });
  afterAll(async () => {
    await db.drop();
    secrets.remove();
  });

  it('runs single-node without Redis (in-process fan-out and leases), ready on PostgreSQL alone', async () => {
    const port = await freePort();
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(port),
    });
    const ready = await service.ready(port);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/tenantmesh_sse_connection_limit\{[^}]*\} 10000/);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('refuses a heartbeat slower than 25 s and a token ring given as a plain variable, naming both', async () => {
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      SECRETS_DIR: secrets.dir,
      PORT: String(await freePort()),
      EVENTS_HEARTBEAT_MS: '60000',
      TOKEN_KEYS_GATEWAY_EVENTS: '{"keys":[]}',
    });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('EVENTS_HEARTBEAT_MS');
    expect(service.output()).toContain('TOKEN_KEYS_GATEWAY_EVENTS');
  });
});
