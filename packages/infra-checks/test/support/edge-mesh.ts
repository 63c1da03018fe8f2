import path from 'node:path';
import { loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { MemorySessionCache, SessionService, sessionSecrets } from '@tenantmesh/sessions';
import {
  createSecretsDir,
  createTestDatabase,
  freePort,
  type SecretsDir,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from '@tenantmesh/testing';

const SERVICES_DIR = path.resolve(__dirname, '../../../../services');
const mainOf = (service: string) => path.join(SERVICES_DIR, service, 'dist', 'main.js');

export interface MeshOptions {
  /** The gateway's PUBLIC_ORIGIN (the edge's https origin when it runs behind one). */
  publicOrigin: string;
  /** Where the gateway sends /api/events; also gives it a gateway→events key ring. */
  eventsUrl?: string;
  /** Extra environment for both processes (OTEL_EXPORTER_OTLP_ENDPOINT, …). */
  env?: Record<string, string>;
  /** Extra environment for the gateway alone (TRUST_PROXY_HOPS, …). */
  gatewayEnv?: Record<string, string>;
}

export interface Mesh {
  gatewayPort: number;
  notesPort: number;
  /** A new user with a real session: the `name=value` to send as Cookie. */
  signIn(): Promise<string>;
  /** Everything each process printed so far. */
  output(): string;
  /** SIGTERM to both (they drain and flush), then the database and secrets go. Safe to repeat. */
  stop(): Promise<void>;
}

// The gateway's defaults, so a session started here is one the gateway accepts as it is.
const POLICY = { idleTtlSeconds: 86_400, absoluteTtlSeconds: 1_209_600 };

/**
 * The gateway and notes as real processes, from their built dist/main.js (run `pnpm build`
 * first), on a test database of their own. Sessions are started the way auth starts them, so the
 * gateway resolves them exactly as it would a signed-in browser's.
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const db: TestDatabase = await createTestDatabase();
  const secrets: SecretsDir = createSecretsDir();
  const rings = ['cookie_keys', 'token_keys_gateway_notes'];
  if (options.eventsUrl) rings.push('token_keys_gateway_events');
  for (const ring of rings) secrets.writeRing(ring);

  let owner: Database | undefined;
  let runtime: Database | undefined;
  const processes: ServiceProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
      await runtime?.close();
      await owner?.close();
      await db.drop();
      secrets.remove();
    })());

  try {
    const [gatewayPort, notesPort] = [await freePort(), await freePort()];
    const common = {
      DATABASE_URL: db.url,
      DATABASE_MIGRATE_ON_BOOT: 'false',
      SECRETS_DIR: secrets.dir,
      ...options.env,
    };
    const notes = startServiceProcess(mainOf('notes'), { ...common, PORT: String(notesPort) });
    processes.push(notes);
    const gateway = startServiceProcess(mainOf('gateway'), {
      ...common,
      PORT: String(gatewayPort),
      PUBLIC_ORIGIN: options.publicOrigin,
      NOTES_URL: `http://127.0.0.1:${notesPort}`,
      ...(options.eventsUrl ? { EVENTS_URL: options.eventsUrl } : {}),
      ...options.gatewayEnv,
    });
    processes.push(gateway);
    await Promise.all([notes.ready(notesPort), gateway.ready(gatewayPort)]);

    owner = db.connectOwner(1);
    runtime = db.connectRuntime(1);
    const { cookieKeys } = loadConfig(
      { SECRETS_DIR: secrets.dir },
      { settings: {}, secrets: sessionSecrets },
    ).secrets;
    const sessions = new SessionService(runtime.db, new MemorySessionCache(), cookieKeys, POLICY);
    let users = 0;

    return {
      gatewayPort,
      notesPort,
      signIn: async () => {
        users += 1;
        const [row] = await owner!.sql<{ id: string }[]>`
          insert into user_sessions (provider, subject) values ('test', ${`edge-user-${users}-${Date.now()}`})
          returning id`;
        const { setCookie } = await sessions.start(row!.id);
        return setCookie.split(';')[0]!;
      },
      output: () => processes.map((p) => p.output()).join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
