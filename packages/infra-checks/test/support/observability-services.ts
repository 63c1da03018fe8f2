import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@tenantmesh/config';
import {
  createSecretsDir,
  createTestDatabase,
  freePort,
  type SecretsDir,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from '@tenantmesh/testing';
import { mintUserToken, tokenKeySecrets } from '@tenantmesh/user-token';

const SERVICES_DIR = path.resolve(__dirname, '../../../../services');
const mainOf = (service: string) => path.join(SERVICES_DIR, service, 'dist', 'main.js');

/** The services that exist today, each with a dashboard of its own. */
export const SERVICES = ['gateway', 'auth', 'files', 'events', 'jobs', 'notes'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** /auth budget per minute on the test gateway: low, so a few requests meet the limit (429). */
export const AUTH_RATE_LIMIT = 2;

export interface RunningServices {
  ports: Record<ServiceName, number>;
  /** A user with a row in user_sessions, and a fresh gateway→files X-User-Token for them. */
  filesUser: { uid: string; token(): string };
  /** The same user, with a fresh gateway→events X-User-Token. */
  eventsUser: { uid: string; token(): string };
  /** The same user, with a fresh gateway→jobs X-User-Token. */
  jobsUser: { uid: string; token(): string };
  /** GET /metrics of one service, as Prometheus would scrape it. */
  scrape(service: ServiceName): Promise<string>;
  /** Everything each process printed so far: their JSON log lines. */
  output(service: ServiceName): string;
  /** SIGTERM to every process, then the database and secrets go. Safe to repeat. */
  stop(): Promise<void>;
}

/**
 * gateway, auth, files, events, jobs and notes as the real processes they are in production (their
 * built dist/main.js; run `pnpm build` first), on a test database of their own, with the minimal
 * configuration each needs (files: its local backend in a temp directory; events: streams that
 * end after a second; jobs: API and workers in one process, JOBS_MODE=all, calling the files and
 * events processes started here). No REDIS_URL: every service then uses its in-process stores
 * (events its single-node fan-out and leases), which export the same metrics, and this suite never
 * shares the unprefixed rate-limit keys of a Redis other suites' gateways use.
 */
export async function startServices(): Promise<RunningServices> {
  const db: TestDatabase = await createTestDatabase();
  const secrets: SecretsDir = createSecretsDir();
  for (const ring of [
    'cookie_keys',
    'token_keys_gateway_auth',
    'token_keys_gateway_files',
    'token_keys_gateway_notes',
    'token_keys_jobs_files',
    'files_master_keys',
    'token_keys_gateway_events',
    'token_keys_jobs_events',
    'token_keys_gateway_jobs',
  ])
    secrets.writeRing(ring);
  secrets.writeText('google_client_secret', 'observability-test-secret');
  const filesRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-files-'));

  const processes = new Map<ServiceName, ServiceProcess>();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const p of processes.values()) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all([...processes.values()].map((p) => p.exited));
      await db.drop();
      secrets.remove();
      fs.rmSync(filesRoot, { recursive: true, force: true });
    })());

  try {
    const ports = {
      gateway: await freePort(),
      auth: await freePort(),
      files: await freePort(),
      events: await freePort(),
      jobs: await freePort(),
      notes: await freePort(),
    };
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
    processes.set(
      'files',
      startServiceProcess(mainOf('files'), { ...common, PORT: String(ports.files), FILES_ROOT: filesRoot }),
    );
    processes.set(
      'events',
      startServiceProcess(mainOf('events'), {
        ...common,
        PORT: String(ports.events),
        // A stream ends by itself after a second, so a replayed stream is a finished request.
        EVENTS_MAX_STREAM_SECONDS: '1',
      }),
    );
    processes.set(
      'jobs',
      startServiceProcess(mainOf('jobs'), {
        ...common,
        PORT: String(ports.jobs),
        JOBS_MODE: 'all',
        // Its workers call the files and events processes above, with jobs' own tokens.
        FILES_URL: `http://127.0.0.1:${ports.files}`,
        EVENTS_URL: `http://127.0.0.1:${ports.events}`,
        // NOTIFY wakes the workers at once; the poll is the fallback, kept short for the test.
        JOBS_POLL_INTERVAL_MS: '200',
      }),
    );
    processes.set('notes', startServiceProcess(mainOf('notes'), { ...common, PORT: String(ports.notes) }));
    processes.set(
      'gateway',
      startServiceProcess(mainOf('gateway'), {
        ...common,
        PORT: String(ports.gateway),
        AUTH_URL: `http://127.0.0.1:${ports.auth}`,
        FILES_URL: `http://127.0.0.1:${ports.files}`,
        EVENTS_URL: `http://127.0.0.1:${ports.events}`,
        JOBS_URL: `http://127.0.0.1:${ports.jobs}`,
        NOTES_URL: `http://127.0.0.1:${ports.notes}`,
        AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_RATE_LIMIT),
      }),
    );
    await Promise.all(SERVICES.map((s) => processes.get(s)!.ready(ports[s])));

    // A user files can store an object for, events can publish to and jobs can run a job for
    // (file_objects, events and jobs reference user_sessions), and gateway→files, gateway→events
    // and gateway→jobs tokens for them, as the gateway would mint one per upstream call.
    const owner = db.connectOwner(1);
    let uid: string;
    try {
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', 'observability-files-user') returning id`;
      uid = row!.id;
    } finally {
      await owner.close();
    }
    const plan = { service: 'gateway', audiences: ['files', 'events', 'jobs'], trustedIssuers: [] };
    const { secrets: rings } = loadConfig(
      { SECRETS_DIR: secrets.dir },
      { settings: {}, secrets: tokenKeySecrets(plan) },
    );
    const tokenFor = (audience: 'files' | 'events' | 'jobs') => () =>
      mintUserToken({
        ring: rings[`token_keys_gateway_${audience}`] as Parameters<typeof mintUserToken>[0]['ring'],
        issuer: 'gateway',
        audience,
        uid,
      });

    return {
      ports,
      filesUser: { uid, token: tokenFor('files') },
      eventsUser: { uid, token: tokenFor('events') },
      jobsUser: { uid, token: tokenFor('jobs') },
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
 * at the gateway); and to auth, files, events, jobs and notes directly, as the gateway's upstream
 * calls would. files gets an object stored, read and listed, so its upload, download and data-key
 * series exist; events gets an event published and a stream that replays it (Last-Event-ID 0)
 * until the service ends the stream, so its published, replayed and delivered series move; jobs
 * gets a files.export enqueued and run to succeeded (its workers list, read and store the user's
 * objects at files and publish to events, with jobs' own tokens), so its claim, run-duration and
 * per-type series exist, then a listing.
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
  const files = `http://127.0.0.1:${services.ports.files}/objects/${services.filesUser.uid}`;
  const asUser = () => ({ 'x-user-token': services.filesUser.token() });
  const stored = await fetch(`${files}/observability.txt`, {
    method: 'PUT',
    headers: { ...asUser(), 'content-type': 'text/plain' },
    body: 'scraped by the observability suite\n',
  });
  await stored.arrayBuffer();
  if (stored.status !== 201) throw new Error(`files PUT answered ${stored.status}`);
  for (const url of [`${files}/observability.txt`, `${files}/`]) {
    const res = await fetch(url, { headers: asUser() });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`files GET ${url} answered ${res.status}`);
  }
  // And one without a token: files' own 401.
  await get('files', `/objects/${services.filesUser.uid}/`);

  const events = `http://127.0.0.1:${services.ports.events}/events`;
  const asEventsUser = () => ({ 'x-user-token': services.eventsUser.token() });
  const published = await fetch(events, {
    method: 'POST',
    headers: { ...asEventsUser(), 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'observability.scraped', data: { by: 'the observability suite' } }),
  });
  const answer = await published.text();
  if (published.status !== 201) throw new Error(`events POST answered ${published.status}: ${answer}`);
  const { id } = JSON.parse(answer) as { id: string };
  const stream = await fetch(events, {
    headers: { ...asEventsUser(), 'last-event-id': '0' },
    signal: AbortSignal.timeout(10_000),
  });
  const replayed = await stream.text(); // until EVENTS_MAX_STREAM_SECONDS ends it
  if (stream.status !== 200 || !replayed.includes(`id: ${id}\n`))
    throw new Error(`events GET answered ${stream.status} without event ${id}: ${replayed}`);
  // And one without a token: events' own 401.
  await get('events', '/events');

  const jobs = `http://127.0.0.1:${services.ports.jobs}/jobs`;
  const asJobsUser = () => ({ 'x-user-token': services.jobsUser.token() });
  const enqueued = await fetch(jobs, {
    method: 'POST',
    headers: { ...asJobsUser(), 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'files.export', payload: {} }),
  });
  const accepted = await enqueued.text();
  if (enqueued.status !== 202) throw new Error(`jobs POST answered ${enqueued.status}: ${accepted}`);
  const { id: jobId } = JSON.parse(accepted) as { id: string };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${jobs}/${jobId}`, { headers: asJobsUser() });
    const job = (await res.json()) as { state?: string; lastError?: string };
    if (res.status !== 200) throw new Error(`jobs GET /jobs/${jobId} answered ${res.status}`);
    if (job.state === 'succeeded') break;
    if (job.state === 'dead' || Date.now() > deadline)
      throw new Error(`files.export job ${jobId} did not succeed: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const listed = await fetch(`${jobs}?state=succeeded&limit=10`, { headers: asJobsUser() });
  await listed.arrayBuffer();
  if (listed.status !== 200) throw new Error(`jobs GET /jobs answered ${listed.status}`);
  // And one without a token: jobs' own 401.
  await get('jobs', '/jobs');
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
