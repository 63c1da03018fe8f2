import fs from 'node:fs';
import path from 'node:path';
import {
  BACKUP_FRAGMENT,
  bindMounts,
  COMPOSE_FILE,
  type ComposeFile,
  type ComposeService,
  composeConfig,
  dependencies,
  loadCompose,
  networkNames,
  publishedPorts,
  secretNames,
  tmpfsMounts,
  userId,
} from './support/deploy-compose';
import {
  edgeClientMaxBodyBytes,
  isPinnedImage,
  isSecretInEnvironment,
  REPO_ROOT,
  repoPath,
  runTool,
} from './support/deploy-repo';

/**
 * docker-compose.yml, as docker-compose itself resolves it (Debian's v1, for real): it validates,
 * and every service follows the production rules — secrets only as files and only the ones it
 * uses, read-only, no capabilities, non-root, pinned images, health checks gating start-up — and
 * the network tiers keep the database away from the edge. The backup service copied in from
 * infra/postgres/docker-compose.backup.yml must not drift from it.
 */
const TENANTMESH_SERVICES = ['gateway', 'auth', 'files', 'events', 'jobs', 'notes'];
/** Exactly the secret files each service reads (docs/secrets.md, each service's README). */
const SECRETS_OF: Record<string, string[]> = {
  gateway: [
    'cookie_keys',
    'db_owner_password',
    'db_runtime_password',
    'token_keys_gateway_auth',
    'token_keys_gateway_events',
    'token_keys_gateway_files',
    'token_keys_gateway_jobs',
    'token_keys_gateway_notes',
  ],
  auth: [
    'cookie_keys',
    'db_owner_password',
    'db_runtime_password',
    'google_client_secret',
    'token_keys_gateway_auth',
  ],
  files: [
    'db_owner_password',
    'db_runtime_password',
    'files_master_keys',
    'token_keys_gateway_files',
    'token_keys_jobs_files',
  ],
  events: ['db_owner_password', 'db_runtime_password', 'token_keys_gateway_events', 'token_keys_jobs_events'],
  // JOBS_MODE=all: the API verifies gateway→jobs tokens, the workers sign jobs→files and jobs→events.
  jobs: [
    'db_owner_password',
    'db_runtime_password',
    'token_keys_gateway_jobs',
    'token_keys_jobs_events',
    'token_keys_jobs_files',
  ],
  notes: ['db_owner_password', 'db_runtime_password', 'token_keys_gateway_notes'],
};
/** Configuration other parts of the repository own, mounted read-only where each program reads it. */
const MOUNTED_CONFIG: [service: string, file: string, inContainer: string][] = [
  ['edge', 'infra/edge/nginx.conf', '/etc/tenantmesh/edge/nginx.conf'],
  ['edge', 'infra/edge/render.sh', '/etc/tenantmesh/edge/render.sh'],
  ['prometheus', 'infra/observability/prometheus/prometheus.yml', '/etc/prometheus/prometheus.yml'],
  ['prometheus', 'infra/observability/prometheus/alerts.yml', '/etc/prometheus/alerts.yml'],
  ['alertmanager', 'infra/observability/alertmanager/alertmanager.yml', '/etc/alertmanager/alertmanager.yml'],
  ['loki', 'infra/observability/loki/loki.yml', '/etc/loki/loki.yml'],
  ['promtail', 'infra/observability/promtail/promtail.yml', '/etc/promtail/promtail.yml'],
  ['tempo', 'infra/observability/tempo/tempo.yml', '/etc/tempo/tempo.yml'],
  ['grafana', 'infra/observability/grafana/provisioning', '/etc/grafana/provisioning'],
  ['grafana', 'infra/observability/grafana/dashboards', '/var/lib/grafana/dashboards'],
];
/** Configuration in which a service names the hosts it calls (besides its environment). */
const CALLER_CONFIG: Record<string, string[]> = {
  prometheus: ['infra/observability/prometheus/prometheus.yml'],
  alertmanager: ['infra/observability/alertmanager/alertmanager.yml'],
  loki: ['infra/observability/loki/loki.yml'],
  promtail: ['infra/observability/promtail/promtail.yml'],
  grafana: ['infra/observability/grafana/provisioning'],
};
/** Needs root: reads the Docker socket (root:docker 0660). Still no capability at all. */
const ROOT_ALLOWED = new Set(['promtail']);

let compose: ComposeFile;
let services: [string, ComposeService][];
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

beforeAll(() => {
  compose = loadCompose([COMPOSE_FILE]);
  services = Object.entries(compose.services);
});

describe('docker-compose.yml', () => {
  test('is valid for docker-compose (config -q exits 0)', () => {
    const result = composeConfig([COMPOSE_FILE], ['-q']);
    expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
  });

  test('runs the services, PostgreSQL 15, Redis 7, the edge, backups and the observability stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      expect.arrayContaining([
        ...TENANTMESH_SERVICES,
        'edge',
        'postgres',
        'redis',
        'db-bootstrap',
        'pgbackrest',
        'backup-metrics',
        'prometheus',
        'alertmanager',
        'loki',
        'promtail',
        'tempo',
        'grafana',
      ]),
    );
    expect(fs.readFileSync(repoPath('infra/docker/postgres/Dockerfile'), 'utf8')).toMatch(
      /^FROM postgres:15\./m,
    );
    expect(service('redis').image).toMatch(/^redis:7\./);
  });

  test('builds every tenantmesh service from the one template, by args.SERVICE', () => {
    for (const name of TENANTMESH_SERVICES) {
      const { build, image } = service(name);
      expect({
        name,
        context: build?.context,
        dockerfile: build?.dockerfile,
        service: build?.args?.SERVICE,
      }).toEqual({
        name,
        context: REPO_ROOT,
        dockerfile: 'infra/docker/Dockerfile',
        service: name,
      });
      expect(image).toMatch(new RegExp(`^tenantmesh/${name}:`));
    }
  });

  test('pins every image to an exact version (not latest, not a bare major)', () => {
    const floating = services
      .filter(([, s]) => !s.image || !isPinnedImage(s.image))
      .map(([n, s]) => `${n}: ${s.image}`);
    expect(floating).toEqual([]);
  });

  test('puts no secret in any environment: secret-looking names only point at files', () => {
    const leaks = services.flatMap(([name, s]) =>
      Object.entries(s.environment ?? {})
        .filter(([key, value]) => isSecretInEnvironment(key, value))
        .map(([key]) => `${name}: ${key}`),
    );
    expect(leaks).toEqual([]);
  });

  test('declares at top level every secret a service mounts, each a file in the secrets directory', () => {
    const declared = compose.secrets ?? {};
    for (const [name, s] of services) {
      for (const secret of secretNames(s)) {
        expect({ service: name, secret, declared: secret in declared }).toEqual({
          service: name,
          secret,
          declared: true,
        });
      }
    }
    for (const [name, secret] of Object.entries(declared)) {
      // `pnpm start` generates them there (infra/docker/prepare-secrets.sh adds compose's own).
      expect(secret.file).toBe(path.join(REPO_ROOT, '.dev/secrets', name));
    }
  });

  test('gives each service exactly the secrets it uses', () => {
    for (const name of TENANTMESH_SERVICES) {
      expect({ service: name, secrets: secretNames(service(name)) }).toEqual({
        service: name,
        secrets: SECRETS_OF[name],
      });
    }
  });

  test('hands a token key ring only to its issuer and its audience', () => {
    for (const [name, s] of services) {
      for (const secret of secretNames(s)) {
        const ring = /^token_keys_([a-z0-9]+)_([a-z0-9]+)$/.exec(secret);
        if (ring)
          expect({ service: name, secret, holder: [ring[1], ring[2]].includes(name) }).toMatchObject({
            holder: true,
          });
      }
    }
    // Only the gateway can mint tokens for another service.
    const gatewayRings = services.filter(([, s]) =>
      secretNames(s).some((x) => x.startsWith('token_keys_gateway_')),
    );
    expect(gatewayRings.map(([n]) => n).sort()).toEqual([
      'auth',
      'events',
      'files',
      'gateway',
      'jobs',
      'notes',
    ]);
  });

  test('runs every service read-only, with every capability dropped and no new privileges', () => {
    for (const [name, s] of services) {
      expect({
        service: name,
        read_only: s.read_only,
        cap_drop: s.cap_drop,
        cap_add: s.cap_add ?? [],
        no_new_privileges: (s.security_opt ?? []).includes('no-new-privileges:true'),
        privileged: s.privileged ?? false,
      }).toEqual({
        service: name,
        read_only: true,
        cap_drop: ['ALL'],
        cap_add: [],
        no_new_privileges: true,
        privileged: false,
      });
    }
  });

  test('gives every service a tmpfs /tmp (the only writable place besides its volumes)', () => {
    for (const [name, s] of services) {
      expect({ service: name, tmp: tmpfsMounts(s).includes('/tmp') }).toEqual({ service: name, tmp: true });
    }
  });

  test('runs every service as a numeric non-root user (promtail alone excepted)', () => {
    for (const [name, s] of services) {
      const uid = userId(s);
      expect({ service: name, numeric: uid !== undefined }).toEqual({ service: name, numeric: true });
      if (!ROOT_ALLOWED.has(name)) expect({ service: name, uid }).not.toEqual({ service: name, uid: 0 });
    }
    expect(TENANTMESH_SERVICES.map((name) => service(name).user)).toEqual(
      TENANTMESH_SERVICES.map(() => '10001:10001'),
    );
  });

  test('health-checks the long-running services and starts each one after what it needs is healthy', () => {
    for (const name of [
      ...TENANTMESH_SERVICES,
      'edge',
      'postgres',
      'redis',
      'prometheus',
      'alertmanager',
      'grafana',
    ]) {
      const test = service(name).healthcheck?.test;
      expect({ service: name, healthcheck: Array.isArray(test) && test.length > 1 }).toEqual({
        service: name,
        healthcheck: true,
      });
    }
    for (const name of TENANTMESH_SERVICES) {
      expect(service(name).healthcheck?.test).toEqual([
        'CMD',
        'node',
        '/usr/local/lib/tenantmesh/healthcheck.cjs',
        '/readyz',
      ]);
      expect(dependencies(service(name))).toMatchObject({
        'db-bootstrap': 'service_completed_successfully',
        postgres: 'service_healthy',
      });
    }
    expect(dependencies(service('gateway'))).toMatchObject({ redis: 'service_healthy' });
    expect(dependencies(service('auth'))).toMatchObject({ redis: 'service_healthy' });
    expect(dependencies(service('events'))).toMatchObject({ redis: 'service_healthy' });
    expect(dependencies(service('jobs'))).toMatchObject({
      files: 'service_healthy',
      events: 'service_healthy',
    });
    expect(dependencies(service('edge'))).toEqual({ gateway: 'service_healthy' });
    expect(dependencies(service('db-bootstrap'))).toEqual({ postgres: 'service_healthy' });
  });

  test('bootstraps roles and database once, then the services migrate at boot as the owner', () => {
    const bootstrap = service('db-bootstrap');
    expect(bootstrap.restart).toBe('no');
    expect(bootstrap.command).toEqual(['node', '/app/db-bootstrap.cjs']);
    expect(bindMounts(bootstrap)).toContainEqual(['infra/docker/db-bootstrap.cjs', '/app/db-bootstrap.cjs']);
    expect(secretNames(bootstrap)).toEqual([
      'db_owner_password',
      'db_runtime_password',
      'pg_superuser_password',
    ]);
    for (const name of TENANTMESH_SERVICES) {
      expect(service(name).environment).toMatchObject({
        DATABASE_URL: 'postgres://postgres:5432/tenantmesh',
        DATABASE_MIGRATE_ON_BOOT: 'true',
      });
    }
    expect(service('postgres').environment).toMatchObject({
      POSTGRES_PASSWORD_FILE: '/run/secrets/pg_superuser_password',
    });
  });

  test('mounts the edge and observability configuration from where it is written', () => {
    for (const [name, file, inContainer] of MOUNTED_CONFIG) {
      const reached = bindMounts(service(name)).some(
        ([host, target]) =>
          (host === file && target === inContainer) ||
          (file.startsWith(`${host}/`) && inContainer === path.posix.join(target, path.relative(host, file))),
      );
      expect({ service: name, file, reached }).toEqual({ service: name, file, reached: true });
      expect({ file, exists: fs.existsSync(repoPath(file)) }).toEqual({ file, exists: true });
    }
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        if (volume.startsWith('/') && volume.includes(`${REPO_ROOT}/`)) {
          expect({ service: name, volume, readOnly: volume.endsWith(':ro') }).toMatchObject({
            readOnly: true,
          });
        }
      }
    }
  });

  test("mounts every secret file that a service's environment or mounted configuration names", () => {
    // Comment lines may mention example names; only what a program would read counts.
    const named = (text: string) =>
      [...text.replace(/^\s*(#|\/\/).*$/gm, '').matchAll(/\/run\/secrets\/([A-Za-z0-9_.-]+)/g)].map(
        (m) => m[1] ?? '',
      );
    const filesUnder = (dir: string): string[] =>
      fs.statSync(dir).isDirectory()
        ? fs.readdirSync(dir).flatMap((entry) => filesUnder(path.join(dir, entry)))
        : [dir];
    for (const [name, s] of services) {
      const wanted = new Set(
        Object.values(s.environment ?? {}).flatMap((value) => named(String(value ?? ''))),
      );
      for (const [host] of bindMounts(s)) {
        const source = repoPath(host);
        if (host.startsWith('..') || !fs.existsSync(source)) continue;
        for (const file of filesUnder(source)) {
          for (const secret of named(fs.readFileSync(file, 'utf8'))) wanted.add(secret);
        }
      }
      const missing = [...wanted].filter((secret) => !secretNames(s).includes(secret));
      expect({ service: name, missing }).toEqual({ service: name, missing: [] });
    }
  });

  test('files keeps its objects on a named volume at FILES_ROOT, and takes exactly the body size the edge lets through', () => {
    const files = service('files');
    const root = files.environment?.FILES_ROOT ?? '';
    expect(files.environment?.FILES_BACKEND).toBe('local');
    expect(root).toMatch(/^\//);
    // A named volume (not a bind mount, not the tmpfs): the objects outlive the container.
    const volume = (files.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === root);
    expect(volume?.[0]).toMatch(/^[a-z][a-z0-9_-]*$/);
    expect(compose.volumes).toHaveProperty(volume?.[0] ?? '');
    expect(volume?.[2] ?? 'rw').toBe('rw');
    expect(tmpfsMounts(files)).not.toContain(root);
    expect(Number(files.environment?.FILES_MAX_OBJECT_BYTES)).toBe(edgeClientMaxBodyBytes());
  });

  test('events coordinates its replicas through the compose Redis, and the gateway reaches it on its port', () => {
    const events = service('events');
    // Without REDIS_URL events runs single-node in-process: fan-out and stream leases would then
    // not reach across replicas (services/events/README.md).
    expect(events.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(networkNames(events)).toEqual(expect.arrayContaining(['services', 'data']));
    expect(service('gateway').environment?.EVENTS_URL).toBe(`http://events:${events.environment?.PORT}`);
    expect(events.environment?.PORT).toBe('3003');
    expect(events.build?.args?.PORT).toBe('3003');
  });

  test('jobs runs API and workers on its port, calls files and events where they listen, uses no Redis, and gets to finish its jobs on stop', () => {
    const jobs = service('jobs');
    const env = jobs.environment ?? {};
    expect(env.PORT).toBe('3004');
    expect(jobs.build?.args?.PORT).toBe('3004');
    expect(service('gateway').environment?.JOBS_URL).toBe(`http://jobs:${env.PORT}`);
    // One process with both roles here (services/jobs/README.md): the workers need both URLs.
    expect(env.JOBS_MODE ?? 'all').toBe('all');
    expect(env.FILES_URL).toBe(`http://files:${service('files').environment?.PORT}`);
    expect(env.EVENTS_URL).toBe(`http://events:${service('events').environment?.PORT}`);
    expect(networkNames(jobs)).toEqual(expect.arrayContaining(['services', 'data']));
    expect(env.REDIS_URL).toBeUndefined();
    expect(Object.keys(dependencies(jobs))).not.toContain('redis');
    // Docker's default stop timeout is 10 s, then SIGKILL: running jobs would be left to the reaper.
    const seconds = (d: string | undefined) => {
      const m = /^(\d+)s$/.exec(d ?? '10s');
      if (!m) throw new Error(`stop_grace_period ${d}: write it in seconds`);
      return Number(m[1]);
    };
    const jobsGraceMs = Number(env.JOBS_SHUTDOWN_GRACE_MS ?? 10_000);
    const httpGraceMs = Number(env.SHUTDOWN_GRACE_MS ?? 10_000);
    expect(seconds(jobs.stop_grace_period) * 1000).toBeGreaterThan(jobsGraceMs + httpGraceMs);
  });

  test('mounts the Docker socket (root on the host) into promtail alone', () => {
    const holders = services
      .filter(([, s]) => (s.volumes ?? []).some((v) => v.startsWith('/var/run/docker.sock:')))
      .map(([name]) => name);
    expect(holders).toEqual(['promtail']);
    expect(service('promtail').volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
    expect(networkNames(service('promtail'))).toEqual(['telemetry']);
  });

  test("renders the edge's nginx.conf from its compose environment, listening where compose publishes", () => {
    const edge = service('edge');
    const environment = Object.fromEntries(
      Object.entries(edge.environment ?? {}).map(([k, v]) => [k, v ?? '']),
    );
    const rendered = runTool('sh', [repoPath('infra/edge/render.sh')], {
      env: { PATH: process.env.PATH, ...environment },
      installHint: 'render.sh needs envsubst (apt-get install gettext-base)',
    });
    expect({ status: rendered.status, stderr: rendered.stderr }).toEqual({ status: 0, stderr: '' });
    const listens = [...rendered.stdout.matchAll(/^\s*listen\s+(\d+)/gm)].map((m) => Number(m[1])).sort();
    expect(listens).toEqual(
      publishedPorts(edge)
        .map((p) => p.target)
        .sort(),
    );
    expect(rendered.stdout).toMatch(/^\s*server gateway:3000;/m);
    expect(service('gateway').environment?.PORT).toBe('3000');
    expect(rendered.stdout).toMatch(/^\s*ssl_certificate \/run\/secrets\/edge_tls_certificate;/m);
    expect(edge.command).toEqual([
      "sh /etc/tenantmesh/edge/render.sh > /tmp/nginx.conf && exec nginx -c /tmp/nginx.conf -g 'pid /tmp/nginx.pid; daemon off;'",
    ]);
  });

  test('every host a service is configured to call is a compose service on a network they share', () => {
    // Addresses outside this file: the alert relay is the paging/ticketing integration's.
    const external = new Set(['alert-relay', 'localhost']);
    const filesUnder = (dir: string): string[] =>
      fs.statSync(dir).isDirectory()
        ? fs.readdirSync(dir).flatMap((entry) => filesUnder(path.join(dir, entry)))
        : [dir];
    for (const [name, s] of services) {
      const env = Object.values(s.environment ?? {}).map((v) => String(v ?? ''));
      const texts = [...env];
      for (const config of CALLER_CONFIG[name] ?? []) {
        for (const file of filesUnder(repoPath(config)))
          texts.push(fs.readFileSync(file, 'utf8').replace(/^\s*#.*$/gm, ''));
      }
      // host:port as a whole value (EDGE_GATEWAY_UPSTREAM), in a URL, or quoted (Prometheus targets).
      const calls = [
        ...env.map((value) => /^([a-z][a-z0-9-]*):(\d+)$/.exec(value)),
        ...texts.flatMap((text) => [
          ...text.matchAll(/\b(?:https?|redis|postgres):\/\/([a-z][a-z0-9-]*):(\d+)/g),
        ]),
        ...texts.flatMap((text) => [...text.matchAll(/["']([a-z][a-z0-9-]*):(\d+)["']/g)]),
      ].flatMap((m) => (m ? [[m[1], m[2]]] : []));
      for (const [host, port] of calls) {
        if (!host || external.has(host) || host === name) continue;
        const callee = compose.services[host];
        const shared = callee ? networkNames(callee).some((n) => networkNames(s).includes(n)) : false;
        expect({ from: name, to: `${host}:${port}`, reachable: shared }).toEqual({
          from: name,
          to: `${host}:${port}`,
          reachable: true,
        });
        const listens = callee?.environment?.PORT;
        if (listens !== undefined && listens !== null)
          expect({ to: host, port }).toEqual({ to: host, port: listens });
      }
    }
  });

  test('lets only the gateway share a network with the edge', () => {
    const edgeNetworks = networkNames(service('edge'));
    const neighbours = services
      .filter(([name, s]) => name !== 'edge' && networkNames(s).some((n) => edgeNetworks.includes(n)))
      .map(([name]) => name);
    expect(neighbours).toEqual(['gateway']);
  });

  test('lets only the services, the bootstrap and the backup jobs reach PostgreSQL and Redis', () => {
    const allowed = [
      ...TENANTMESH_SERVICES,
      'db-bootstrap',
      'pgbackrest',
      'pgbackrest-stanza',
      'postgres',
      'redis',
    ];
    for (const store of ['postgres', 'redis']) {
      const storeNetworks = networkNames(service(store));
      expect(storeNetworks.every((n) => compose.networks?.[n]?.internal === true)).toBe(true);
      const neighbours = services
        .filter(([, s]) => networkNames(s).some((n) => storeNetworks.includes(n)))
        .map(([name]) => name);
      expect({ store, strangers: neighbours.filter((n) => !allowed.includes(n)) }).toEqual({
        store,
        strangers: [],
      });
    }
  });

  test('publishes only the edge to the network; operator UIs listen on 127.0.0.1', () => {
    const published = services.flatMap(([name, s]) =>
      publishedPorts(s).map((port) => ({ service: name, ...port })),
    );
    expect(published.filter((p) => p.service === 'edge').map((p) => p.target)).toEqual([8080, 8443]);
    expect(published.filter((p) => p.service !== 'edge' && p.hostIp !== '127.0.0.1')).toEqual([]);
  });
});

describe('the backup service (infra/postgres/docker-compose.backup.yml)', () => {
  let fragment: ComposeFile;
  beforeAll(() => {
    fragment = loadCompose([BACKUP_FRAGMENT]);
  });

  test('the fragment is valid on its own (config -q exits 0)', () => {
    expect(composeConfig([BACKUP_FRAGMENT], ['-q']).status).toBe(0);
  });

  test('is copied into docker-compose.yml without drift', () => {
    const original = fragment.services.pgbackrest;
    const copy = service('pgbackrest');
    if (!original) throw new Error('the fragment has no pgbackrest service');
    const same = (s: ComposeService) => ({
      image: s.image?.split(':')[0],
      build: s.build,
      command: s.command,
      secrets: secretNames(s),
      user: s.user,
      read_only: s.read_only,
      tmpfs: s.tmpfs,
      cap_drop: s.cap_drop,
      security_opt: s.security_opt,
      restart: s.restart,
    });
    expect(same(copy)).toEqual(same(original));
    // Everything the fragment sets is there unchanged; the copy only adds.
    expect(copy.environment).toMatchObject(original.environment ?? {});
    expect(copy.volumes).toEqual(expect.arrayContaining(original.volumes ?? []));
    for (const volume of Object.keys(fragment.volumes ?? {})) expect(compose.volumes).toHaveProperty(volume);
    for (const secret of Object.keys(fragment.secrets ?? {})) {
      expect(compose.secrets?.[secret]?.file).toBe(fragment.secrets?.[secret]?.file);
    }
  });

  test('runs after the database is healthy and the stanza exists', () => {
    expect(dependencies(service('pgbackrest'))).toEqual({
      postgres: 'service_healthy',
      'pgbackrest-stanza': 'service_completed_successfully',
    });
    expect(service('pgbackrest-stanza').command).toEqual([
      'pgbackrest-run',
      '--stanza=tenantmesh',
      'stanza-create',
    ]);
  });

  test('gives the database what the fragment asks of it: uid 999, the shared volumes, WAL archiving', () => {
    const postgres = service('postgres');
    expect(postgres.user).toBe('999:999');
    expect(postgres.volumes).toEqual(
      expect.arrayContaining([
        'pgdata:/var/lib/postgresql/data:rw',
        'pgsocket:/var/run/postgresql:rw',
        'pgbackrest-repo:/var/lib/pgbackrest:rw',
      ]),
    );
    expect(secretNames(postgres)).toContain('pgbackrest_cipher_pass');
    const dockerfile = fs.readFileSync(repoPath('infra/docker/postgres/Dockerfile'), 'utf8');
    expect(dockerfile).toContain(
      'COPY infra/postgres/postgresql.backup.conf /etc/postgresql/postgresql.backup.conf',
    );
    expect(dockerfile).toContain('COPY infra/postgres/pgbackrest-run /usr/local/bin/pgbackrest-run');
    expect(fs.readFileSync(repoPath('infra/docker/postgres/postgresql.conf'), 'utf8')).toMatch(
      /^include '\/etc\/postgresql\/postgresql\.backup\.conf'$/m,
    );
  });
});

describe('the checks themselves', () => {
  test.each([
    ['DB_PASSWORD', 'hunter2'],
    ['GOOGLE_CLIENT_SECRET', 'x'],
    ['PGBACKREST_REPO1_CIPHER_PASSPHRASE', 'x'],
    ['GITHUB_TOKEN', 'x'],
    ['COOKIE_KEYS', '{"keys":[]}'],
    ['API_KEY', 'x'],
    ['TLS_PRIVATE', 'x'],
    ['AWS_CREDENTIALS', 'x'],
  ])('flags %s set to a value', (name, value) => {
    expect(isSecretInEnvironment(name, value)).toBe(true);
  });

  test.each([
    ['POSTGRES_PASSWORD_FILE', '/run/secrets/pg_superuser_password'],
    ['GF_SECURITY_ADMIN_PASSWORD__FILE', '/run/secrets/grafana_admin_password'],
    ['EDGE_TLS_CERTIFICATE_KEY', '/run/secrets/edge_tls_certificate_key'],
    ['DATABASE_URL', 'postgres://postgres:5432/tenantmesh'],
    ['GOOGLE_CLIENT_ID', 'x.apps.googleusercontent.com'],
  ])('lets %s through', (name, value) => {
    expect(isSecretInEnvironment(name, value)).toBe(false);
  });
});
