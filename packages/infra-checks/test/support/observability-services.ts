import path from 'node:path';
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

/** The services that exist today, each with a dashboard of its own. */
export const SERVICES = ['gateway', 'auth', 'notes'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** /auth budget per minute on the test gateway: low, so a few requests meet the limit (429). */
export const AUTH_RATE_LIMIT = 2;

export interface RunningServices {
  ports: Record<ServiceName, number>;
  /** GET /metrics of one service, as Prometheus would scrape it. */
  scrape(service: ServiceName): Promise<string>;
  /** Everything each process printed so far: their JSON log lines. */
  output(service: ServiceName): string;
  /** SIGTERM to every process, then the database and secrets go. Safe to repeat. */
  stop(): Promise<void>;
}

/**
 * gateway, auth and notes as the real processes they are in production (their built
 * dist/main.js; run `pnpm build` first), on a test database of their own, with the minimal
 * configuration each needs. No REDIS_URL: every service then uses its in-process stores, which
 * export the same metrics, and this suite never shares the unprefixed rate-limit keys of a
 * Redis other suites' gateways use.
 */
export async function startServices(): Promise<RunningServices> {
  const db: TestDatabase = await createTestDatabase();
  const secrets: SecretsDir = createSecretsDir();
  for (const ring of ['cookie_keys', 'token_keys_gateway_auth', 'token_keys_gateway_notes'])
    secrets.writeRing(ring);
  secrets.writeText('google_client_secret', 'observability-test-secret');

  const processes = new Map<ServiceName, ServiceProcess>();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const p of processes.values()) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all([...processes.values()].map((p) => p.exited));
      await db.drop();
      secrets.remove();
    })());

  try {
    const ports = { gateway: await freePort(), auth: await freePort(), notes: await freePort() };
    const origin = `http://127.0.0.1:${ports.gateway}`;
    const common = {
      DATABASE_URL: db.url,
      DATABASE_MIGRATE_ON_BOOT: 'false',
      SECRETS_DIR: secrets.dir,
      PUBLIC_ORIGIN: origin,
      // The access log ("request" lines, level http) is what most production log lines are.
      LOG_LEVEL: 'http',
    };
    processes.set(
      'auth',
      startServiceProcess(mainOf('auth'), {
        ...common,
        PORT: String(ports.auth),
        GOOGLE_CLIENT_ID: 'observability-test',
      }),
    );
    processes.set('notes', startServiceProcess(mainOf('notes'), { ...common, PORT: String(ports.notes) }));
    processes.set(
      'gateway',
      startServiceProcess(mainOf('gateway'), {
        ...common,
        PORT: String(ports.gateway),
        AUTH_URL: `http://127.0.0.1:${ports.auth}`,
        NOTES_URL: `http://127.0.0.1:${ports.notes}`,
        AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_RATE_LIMIT),
      }),
    );
    await Promise.all(SERVICES.map((s) => processes.get(s)!.ready(ports[s])));

    return {
      ports,
      scrape: async (service) => {
        const res = await fetch(`http://127.0.0.1:${ports[service]}/metrics`);
        if (res.status !== 200) throw new Error(`${service} /metrics answered ${res.status}`);
        return res.text();
      },
      output: (service) => processes.get(service)!.output(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A little traffic, so the request histograms have series: through the gateway to auth (a
 * redirect to the provider) until the /auth budget answers 429; an unauthenticated API call (401
 * at the gateway); and to auth and notes directly, as the gateway's upstream calls would.
 */
export async function makeTraffic(services: RunningServices): Promise<{ gatewayStatuses: number[] }> {
  const get = (service: ServiceName, urlPath: string) => request(services, service, urlPath);
  const gatewayStatuses: number[] = [];
  for (let i = 0; i <= AUTH_RATE_LIMIT; i++) gatewayStatuses.push(await get('gateway', '/auth/google'));
  gatewayStatuses.push(await get('gateway', '/api/me'));
  gatewayStatuses.push(await get('gateway', '/.well-known/security.txt'));
  await get('auth', '/auth/google');
  await get('auth', '/api/me');
  await get('notes', '/notebooks');
  await get('notes', '/no-such-route');
  return { gatewayStatuses };
}

/** One GET to a service, body read, redirects not followed; resolves to the status. */
export async function request(
  services: RunningServices,
  service: ServiceName,
  urlPath: string,
): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${services.ports[service]}${urlPath}`, { redirect: 'manual' });
  await res.arrayBuffer();
  return res.status;
}
