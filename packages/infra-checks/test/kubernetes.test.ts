import {
  allContainers,
  type Container,
  effectiveSecurityContext,
  type K8sObject,
  KUBECTL,
  labelSelectorOf,
  named,
  networkPolicies,
  OVERLAYS,
  type Overlay,
  ofKind,
  type PodSpec,
  renderOverlay,
  secretVolumes,
  type Workload,
  workloads,
} from './support/deploy-kubernetes';
import {
  ingressAllowed,
  type LabelSelector,
  type Labels,
  type NetworkPolicy,
  type Pod,
  selectorMatches,
  type TargetPort,
} from './support/deploy-network-policy';
import { edgeClientMaxBodyBytes, isPinnedImage, isSecretInEnvironment } from './support/deploy-repo';

/**
 * Every overlay under infra/k8s/overlays, rendered by the real `kubectl kustomize` ($KUBECTL, or
 * kubectl on PATH; the manifests are written to render on kubectl 1.20's kustomize too), then read
 * back: each workload's security context, probes, secrets as files only, each service with its
 * own Deployment + Service + HPA + PDB, and the NetworkPolicies evaluated as Kubernetes would.
 */
const SERVICES = ['gateway', 'auth', 'files', 'events', 'jobs', 'notes'];
/**
 * Deployments that take no traffic (no Service): a service's second role, by Deployment name, and
 * the service whose image and token identity they run. jobs-worker is jobs in JOBS_MODE=worker.
 */
const WORKERS: Record<string, string> = { 'jobs-worker': 'jobs' };
const SERVICE_UID = 10001;
/**
 * The backup jobs run as the database's uid (999): they read and write the same repository files
 * the database's archive_command writes (infra/k8s/backup/README.md). No other exception.
 */
const UID_BY_APP: Record<string, number> = { pgbackrest: 999 };
/** Exactly the secret files each service gets (docs/secrets.md); optional ones marked so. */
const SECRET_FILES: Record<string, string[]> = {
  gateway: [
    'cookie_keys',
    'db_owner_password',
    'db_runtime_password',
    'redis_password',
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
    'oidc_client_secret',
    'redis_password',
    'token_keys_gateway_auth',
  ],
  files: [
    'db_owner_password',
    'db_runtime_password',
    'files_master_keys',
    'files_s3_access_key_id',
    'files_s3_secret_access_key',
    'token_keys_gateway_files',
    'token_keys_jobs_files',
  ],
  events: [
    'db_owner_password',
    'db_runtime_password',
    'redis_password',
    'token_keys_gateway_events',
    'token_keys_jobs_events',
  ],
  // The API verifies gateway→jobs tokens and signs nothing; the workers sign jobs→files and
  // jobs→events tokens and verify nothing. Neither uses Redis.
  jobs: ['db_owner_password', 'db_runtime_password', 'token_keys_gateway_jobs'],
  'jobs-worker': [
    'db_owner_password',
    'db_runtime_password',
    'token_keys_jobs_events',
    'token_keys_jobs_files',
  ],
  notes: ['db_owner_password', 'db_runtime_password', 'token_keys_gateway_notes'],
};
const NAMESPACE: Record<Overlay, string> = { dev: 'tenantmesh-dev', prod: 'tenantmesh' };

const appOf = (w: Workload) => w.template.metadata?.labels?.['app.kubernetes.io/name'] ?? '';

describe.each(OVERLAYS)('infra/k8s/overlays/%s', (overlay) => {
  let objects: K8sObject[];
  let all: Workload[];
  const namespace = NAMESPACE[overlay];

  beforeAll(() => {
    objects = renderOverlay(overlay);
    all = workloads(objects);
  });

  test(`renders with ${KUBECTL} kustomize, everything in namespace ${namespace}`, () => {
    expect(objects.length).toBeGreaterThan(0);
    const elsewhere = objects
      .filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace)
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(elsewhere).toEqual([]);
    expect(named(objects, 'Namespace', namespace).metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('commits no Secret objects (they are created from files: infra/k8s/README.md)', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  test('every workload runs non-root as its uid, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp', () => {
    expect(all.length).toBeGreaterThanOrEqual(SERVICES.length);
    for (const workload of all) {
      const expectedUid = UID_BY_APP[appOf(workload)] ?? SERVICE_UID;
      const pod = workload.template.spec;
      expect({
        workload: workload.id,
        hostNamespaces: [pod.hostNetwork, pod.hostPID, pod.hostIPC].some(Boolean),
      }).toEqual({
        workload: workload.id,
        hostNamespaces: false,
      });
      for (const container of allContainers(pod)) {
        const context = effectiveSecurityContext(pod, container);
        expect({
          container: `${workload.id}/${container.name}`,
          runAsNonRoot: context.runAsNonRoot,
          runAsUser: context.runAsUser,
          readOnlyRootFilesystem: context.readOnlyRootFilesystem,
          allowPrivilegeEscalation: context.allowPrivilegeEscalation,
          privileged: context.privileged ?? false,
          drop: context.capabilities?.drop,
          add: context.capabilities?.add ?? [],
          seccomp: context.seccompProfile?.type,
        }).toEqual({
          container: `${workload.id}/${container.name}`,
          runAsNonRoot: true,
          runAsUser: expectedUid,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          drop: ['ALL'],
          add: [],
          seccomp: 'RuntimeDefault',
        });
      }
    }
  });

  test('every workload has an emptyDir at /tmp, the one writable place on a read-only root', () => {
    for (const workload of all) {
      const pod = workload.template.spec;
      for (const container of allContainers(pod)) {
        const mount = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        const volume = pod.volumes?.find((v) => v.name === mount?.name);
        expect({
          container: `${workload.id}/${container.name}`,
          tmp: volume?.emptyDir !== undefined,
        }).toEqual({
          container: `${workload.id}/${container.name}`,
          tmp: true,
        });
      }
    }
  });

  test('secrets reach pods only as files: no secretKeyRef, no envFrom secretRef, no secret-looking value', () => {
    for (const workload of all) {
      for (const container of allContainers(workload.template.spec)) {
        const where = `${workload.id}/${container.name}`;
        const fromSecrets = (container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
        const envFromSecrets = (container.envFrom ?? []).filter((e) => e.secretRef);
        const leaks = (container.env ?? [])
          .filter((e) => isSecretInEnvironment(e.name, e.value))
          .map((e) => e.name);
        expect({ where, fromSecrets, envFromSecrets, leaks }).toEqual({
          where,
          fromSecrets: [],
          envFromSecrets: [],
          leaks: [],
        });
      }
    }
  });

  test('secret volumes are mounted read-only and whole (no subPath, so rotated rings arrive live)', () => {
    for (const workload of all) {
      const pod = workload.template.spec;
      for (const { volume } of secretVolumes(pod)) {
        for (const container of allContainers(pod)) {
          for (const mount of container.volumeMounts ?? []) {
            if (mount.name !== volume.name) continue;
            expect({
              where: `${workload.id}/${mount.name}`,
              readOnly: mount.readOnly,
              subPath: mount.subPath,
            }).toEqual({
              where: `${workload.id}/${mount.name}`,
              readOnly: true,
              subPath: undefined,
            });
          }
        }
      }
    }
  });

  test.each([...SERVICES, ...Object.keys(WORKERS)])(
    '%s mounts exactly its own secret files, listed item by item, at /run/secrets',
    (deploymentName) => {
      const workload = all.find((w) => w.id === `Deployment/${deploymentName}`);
      if (!workload) throw new Error(`no Deployment/${deploymentName}`);
      const service = WORKERS[deploymentName] ?? deploymentName;
      const volumes = secretVolumes(workload.template.spec);
      expect(volumes).toHaveLength(1);
      const [{ volume, sources }] = volumes as [(typeof volumes)[number]];
      const container = workload.template.spec.containers.find((c) => c.name === deploymentName);
      expect(container?.volumeMounts?.find((m) => m.name === volume.name)?.mountPath).toBe('/run/secrets');
      // Whole-Secret projections would hand over whatever keys someone adds to that Secret later.
      expect(sources.filter((s) => !s.items?.length)).toEqual([]);
      const files = sources.flatMap((s) => (s.items ?? []).map((i) => i.path)).sort();
      expect(files).toEqual(SECRET_FILES[deploymentName]);
      for (const file of files) {
        const ring = /^token_keys_([a-z0-9]+)_([a-z0-9]+)$/.exec(file);
        if (ring) expect([ring[1], ring[2]]).toContain(service);
      }
    },
  );

  test('every Deployment is ready on /readyz and alive on /healthz', () => {
    for (const deployment of all.filter((w) => w.object.kind === 'Deployment')) {
      for (const container of deployment.template.spec.containers) {
        expect({
          container: `${deployment.id}/${container.name}`,
          readiness: container.readinessProbe?.httpGet?.path,
          liveness: container.livenessProbe?.httpGet?.path,
        }).toEqual({
          container: `${deployment.id}/${container.name}`,
          readiness: '/readyz',
          liveness: '/healthz',
        });
      }
    }
  });

  test.each(SERVICES)(
    '%s has a Deployment, Service, HPA (autoscaling/v2 on CPU) and PDB that select exactly its pods',
    (service) => {
      const deployment = named(objects, 'Deployment', service);
      const podLabels: Labels = deployment.spec?.template?.metadata?.labels ?? {};
      const otherPods = ofKind(objects, 'Deployment')
        .filter((d) => d.metadata.name !== service)
        .map((d) => d.spec?.template?.metadata?.labels ?? {});
      for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) {
        const selector = labelSelectorOf(named(objects, kind, service));
        expect({ kind, selects: selector !== undefined && selectorMatches(selector, podLabels) }).toEqual({
          kind,
          selects: true,
        });
        expect({
          kind,
          selectsOthers: otherPods.some((labels) => selectorMatches(selector, labels)),
        }).toEqual({
          kind,
          selectsOthers: false,
        });
      }
      const port = deployment.spec?.template?.spec.containers[0]?.ports?.find((p) => p.name === 'http');
      expect(named(objects, 'Service', service).spec?.ports).toEqual([
        expect.objectContaining({ name: 'http', port: port?.containerPort, targetPort: 'http' }),
      ]);

      const hpa = named(objects, 'HorizontalPodAutoscaler', service);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: service });
      expect(hpa.spec?.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
        },
      ]);
      expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(1);
      expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0);
      // The HPA owns the replica count: a `replicas` here would fight it on every apply.
      expect(deployment.spec?.replicas).toBeUndefined();
      // CPU utilisation is measured against the request: without one the HPA cannot scale.
      for (const container of deployment.spec?.template?.spec.containers ?? []) {
        expect(container.resources?.requests?.cpu).toBeDefined();
      }
      expect(named(objects, 'PodDisruptionBudget', service).apiVersion).toBe('policy/v1');
    },
  );

  test.each(Object.keys(WORKERS))(
    '%s (no traffic) has a Deployment, HPA (autoscaling/v2 on CPU) and PDB that select exactly its pods, no Service, and a PDB a node drain can always satisfy',
    (name) => {
      const deployment = named(objects, 'Deployment', name);
      const podLabels: Labels = deployment.spec?.template?.metadata?.labels ?? {};
      // Its service's label: Prometheus names the series after it (prometheus.k8s.yml).
      expect(podLabels['app.kubernetes.io/name']).toBe(WORKERS[name]);
      const otherPods = ofKind(objects, 'Deployment')
        .filter((d) => d.metadata.name !== name)
        .map((d) => d.spec?.template?.metadata?.labels ?? {});
      for (const kind of ['Deployment', 'PodDisruptionBudget']) {
        const selector = labelSelectorOf(named(objects, kind, name));
        expect({ kind, selects: selector !== undefined && selectorMatches(selector, podLabels) }).toEqual({
          kind,
          selects: true,
        });
        expect({
          kind,
          selectsOthers: otherPods.some((labels) => selectorMatches(selector, labels)),
        }).toEqual({
          kind,
          selectsOthers: false,
        });
      }
      // No Service sends it requests: not its own, and not its service's.
      const services = ofKind(objects, 'Service').filter((svc) =>
        selectorMatches({ matchLabels: (svc.spec?.selector ?? {}) as Labels }, podLabels),
      );
      expect(services.map((svc) => svc.metadata.name)).toEqual([]);
      const hpa = named(objects, 'HorizontalPodAutoscaler', name);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.spec?.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
        },
      ]);
      expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0);
      expect(deployment.spec?.replicas).toBeUndefined();
      for (const container of deployment.spec?.template?.spec.containers ?? []) {
        expect(container.resources?.requests?.cpu).toBeDefined();
      }
      // minAvailable at (or above) the HPA's floor would block every drain of a node it runs on.
      const pdb = named(objects, 'PodDisruptionBudget', name);
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec?.minAvailable).toBeUndefined();
      expect(Number(pdb.spec?.maxUnavailable)).toBeGreaterThanOrEqual(1);
    },
  );

  test('jobs: the API and the workers run one image in their own modes; the workers call files and events on their Service ports and outlast JOBS_SHUTDOWN_GRACE_MS on stop; the gateway calls the API', () => {
    const podOf = (name: string) => {
      const spec = named(objects, 'Deployment', name).spec?.template?.spec as
        | (PodSpec & { terminationGracePeriodSeconds?: number })
        | undefined;
      const container = spec?.containers[0] as
        | (Container & { lifecycle?: { preStop?: { exec?: { command?: string[] } } } })
        | undefined;
      const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
      return { spec, container, env };
    };
    const servicePort = (name: string) => named(objects, 'Service', name).spec?.ports?.[0]?.port;
    const api = podOf('jobs');
    const worker = podOf('jobs-worker');
    expect(api.container?.image).toBe(worker.container?.image);
    expect(api.env.JOBS_MODE).toBe('api');
    expect(worker.env.JOBS_MODE).toBe('worker');
    // The API calls neither files nor events; the workers must (services/jobs/README.md).
    expect([api.env.FILES_URL, api.env.EVENTS_URL]).toEqual([undefined, undefined]);
    expect(worker.env.FILES_URL).toBe(`http://files:${servicePort('files')}`);
    expect(worker.env.EVENTS_URL).toBe(`http://events:${servicePort('events')}`);
    for (const { env } of [api, worker]) {
      expect(env.PORT).toBe(String(servicePort('jobs')));
      expect(env.REDIS_URL).toBeUndefined();
    }
    const gateway = podOf('gateway');
    expect(gateway.env.JOBS_URL).toBe(`http://jobs:${servicePort('jobs')}`);
    // SIGTERM comes after preStop; then running jobs get JOBS_SHUTDOWN_GRACE_MS and the HTTP port
    // SHUTDOWN_GRACE_MS. A SIGKILL before that leaves jobs to the reaper.
    const preStopMs = (c: typeof worker.container) => {
      const command = c?.lifecycle?.preStop?.exec?.command ?? [];
      return command[0] === 'sleep' ? Number(command[1]) * 1000 : 0;
    };
    const jobsGraceMs = Number(worker.env.JOBS_SHUTDOWN_GRACE_MS ?? 10_000);
    const httpGraceMs = Number(worker.env.SHUTDOWN_GRACE_MS ?? 10_000);
    expect((worker.spec?.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
      preStopMs(worker.container) + jobsGraceMs + httpGraceMs,
    );
  });

  test('files keeps its objects on a PersistentVolumeClaim at FILES_ROOT, sized to the edge body limit, and a ReadWriteOnce claim keeps every replica on one node', () => {
    const deployment = named(objects, 'Deployment', 'files');
    const pod = deployment.spec?.template?.spec;
    const container = pod?.containers.find((c) => c.name === 'files');
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ FILES_BACKEND: 'local', FILES_ROOT: expect.stringMatching(/^\//) });
    // The edge refuses a larger body before the service sees it; a smaller service limit would
    // make the edge's promise a lie (infra/edge/nginx.conf).
    expect(Number(env.FILES_MAX_OBJECT_BYTES)).toBe(edgeClientMaxBodyBytes());

    const mount = container?.volumeMounts?.find((m) => m.mountPath === env.FILES_ROOT);
    expect(mount?.readOnly ?? false).toBe(false);
    const volume = pod?.volumes?.find((v) => v.name === mount?.name) as
      | { persistentVolumeClaim?: { claimName?: string } }
      | undefined;
    const claimName = volume?.persistentVolumeClaim?.claimName ?? '';
    const claim = named(objects, 'PersistentVolumeClaim', claimName) as unknown as {
      spec: { accessModes: string[] };
    };
    const hpa = named(objects, 'HorizontalPodAutoscaler', 'files');
    if (claim.spec.accessModes.includes('ReadWriteMany')) return;
    // ReadWriteOnce attaches to one node: replicas beyond one must be required onto that node.
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    if ((hpa.spec?.maxReplicas ?? 1) > 1) {
      const affinity =
        (
          pod as {
            affinity?: {
              podAffinity?: {
                requiredDuringSchedulingIgnoredDuringExecution?: {
                  topologyKey: string;
                  labelSelector?: LabelSelector;
                }[];
              };
            };
          }
        ).affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      const podLabels: Labels = deployment.spec?.template?.metadata?.labels ?? {};
      expect(
        affinity.some(
          (term) =>
            term.topologyKey === 'kubernetes.io/hostname' && selectorMatches(term.labelSelector, podLabels),
        ),
      ).toBe(true);
    }
  });

  test('events coordinates its replicas through Redis wherever it may run more than one, and the gateway calls it on its Service port', () => {
    const deployment = named(objects, 'Deployment', 'events');
    const container = deployment.spec?.template?.spec.containers.find((c) => c.name === 'events');
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    // Without REDIS_URL events is single-node in-process: a second replica would miss the events
    // stored by the first and count its own per-user caps (services/events/README.md).
    const hpa = named(objects, 'HorizontalPodAutoscaler', 'events');
    if ((hpa.spec?.maxReplicas ?? 1) > 1) expect(env.REDIS_URL).toMatch(/^rediss?:\/\/[^@/]+$/);
    const gateway = named(objects, 'Deployment', 'gateway').spec?.template?.spec.containers.find(
      (c) => c.name === 'gateway',
    );
    const eventsUrl = gateway?.env?.find((e) => e.name === 'EVENTS_URL')?.value ?? '';
    const port = named(objects, 'Service', 'events').spec?.ports?.[0]?.port;
    expect(eventsUrl).toBe(`http://events:${port}`);
    expect(env.PORT).toBe(String(port));
  });

  describe('NetworkPolicies, evaluated', () => {
    let policies: NetworkPolicy[];
    const servicePod = (app: string): Pod => ({
      name: app,
      namespace,
      labels: {
        'app.kubernetes.io/name': app,
        'app.kubernetes.io/part-of': 'tenantmesh',
        'app.kubernetes.io/component': 'service',
      },
    });
    // Who might try to connect. The deployed services use their rendered pod labels.
    const sources = (): Pod[] => [
      {
        name: 'edge',
        namespace: 'ingress-nginx',
        labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
      },
      { name: 'edge-impostor', namespace, labels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      { name: 'prometheus', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } },
      { name: 'prometheus-impostor', namespace, labels: { 'app.kubernetes.io/name': 'prometheus' } },
      ...SERVICES.map(deployedPod),
      ...Object.keys(WORKERS).map(deployedPod),
      {
        name: 'pgbackrest',
        namespace,
        labels: { 'app.kubernetes.io/name': 'pgbackrest', 'app.kubernetes.io/part-of': 'tenantmesh' },
      },
      { name: 'stranger', namespace, labels: { app: 'stranger' } },
      { name: 'gateway-elsewhere', namespace: 'default', labels: servicePod('gateway').labels },
    ];
    const deployedPod = (service: string): Pod => ({
      name: service,
      namespace,
      labels: named(objects, 'Deployment', service).spec?.template?.metadata?.labels ?? {},
    });
    const httpPort = (service: string): TargetPort => {
      const port = named(objects, 'Deployment', service).spec?.template?.spec.containers[0]?.ports?.find(
        (p) => p.name === 'http',
      );
      if (!port) throw new Error(`${service} has no port named http`);
      return { number: port.containerPort, name: 'http' };
    };
    const admitted = (target: Pod, port: TargetPort) =>
      sources()
        .filter((source) => source.name !== target.name && ingressAllowed(policies, source, target, port))
        .map((s) => s.name)
        .sort();

    beforeAll(() => {
      policies = networkPolicies(objects);
    });

    test('deny all ingress by default', () => {
      const target: Pod = { name: 'unlisted', namespace, labels: { app: 'unlisted' } };
      expect(admitted(target, { number: 8080 })).toEqual([]);
    });

    test('only the edge (ingress-nginx controller pods in namespace ingress-nginx) and Prometheus reach the gateway', () => {
      expect(admitted(deployedPod('gateway'), httpPort('gateway'))).toEqual(['edge', 'prometheus']);
    });

    test.each(['auth', 'notes'])('only the gateway and Prometheus reach %s', (service) => {
      expect(admitted(deployedPod(service), httpPort(service))).toEqual(['gateway', 'prometheus']);
    });

    test.each(['files', 'events'])(
      'only the gateway, the jobs workers and Prometheus reach %s (not the jobs API)',
      (service) => {
        expect(admitted(deployedPod(service), httpPort(service))).toEqual([
          'gateway',
          'jobs-worker',
          'prometheus',
        ]);
      },
    );

    test('only the gateway and Prometheus reach the jobs API; only Prometheus the jobs workers', () => {
      expect(admitted(deployedPod('jobs'), httpPort('jobs'))).toEqual(['gateway', 'prometheus']);
      expect(admitted(deployedPod('jobs-worker'), httpPort('jobs-worker'))).toEqual(['prometheus']);
    });

    test('only the services and the backup jobs reach PostgreSQL; only the backup jobs its pgBackRest server', () => {
      const postgres: Pod = { name: 'postgres', namespace, labels: { 'app.kubernetes.io/name': 'postgres' } };
      expect(admitted(postgres, { number: 5432 })).toEqual([
        'auth',
        'events',
        'files',
        'gateway',
        'jobs',
        'jobs-worker',
        'notes',
        'pgbackrest',
      ]);
      expect(admitted(postgres, { number: 8432 })).toEqual(['pgbackrest']);
    });

    test('only the services reach Redis, and not jobs (its queue is in PostgreSQL)', () => {
      const redis: Pod = { name: 'redis', namespace, labels: { 'app.kubernetes.io/name': 'redis' } };
      expect(admitted(redis, { number: 6379 })).toEqual(['auth', 'events', 'files', 'gateway', 'notes']);
    });

    test('nothing reaches the backup jobs', () => {
      const pgbackrest = sources().find((s) => s.name === 'pgbackrest') as Pod;
      expect(admitted(pgbackrest, { number: 8432 })).toEqual([]);
    });
  });

  if (overlay === 'prod') {
    test('pins every image to a release tag or a digest (no :latest, no untagged image)', () => {
      const images = all.flatMap((w) => allContainers(w.template.spec).map((c) => c.image ?? ''));
      expect(images.filter((image) => !isPinnedImage(image))).toEqual([]);
    });

    test('includes the backup and restore-drill schedules from infra/k8s/backup', () => {
      expect(
        ofKind(objects, 'CronJob')
          .map((c) => c.metadata.name)
          .sort(),
      ).toEqual(['pgbackrest-full-backup', 'restore-drill']);
      expect(named(objects, 'ConfigMap', 'pgbackrest-config')).toBeDefined();
      expect(named(objects, 'PersistentVolumeClaim', 'pgbackrest-repo')).toBeDefined();
    });
  }
});

describe('the checks themselves', () => {
  const policy = (spec: NetworkPolicy['spec']): NetworkPolicy => ({
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'tm' },
    spec,
  });
  const web: Pod = { name: 'web', namespace: 'tm', labels: { app: 'web' } };
  const friend: Pod = { name: 'friend', namespace: 'tm', labels: { app: 'friend' } };
  const outsider: Pod = { name: 'outsider', namespace: 'other', labels: { app: 'friend' } };
  const port: TargetPort = { number: 80, name: 'http' };

  test('a pod no policy selects accepts everyone', () => {
    expect(ingressAllowed([], outsider, web, port)).toBe(true);
  });

  test('a podSelector-only peer means pods of the policy namespace', () => {
    const p = policy({
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'friend' } } }] }],
    });
    expect(ingressAllowed([p], friend, web, port)).toBe(true);
    expect(ingressAllowed([p], outsider, web, port)).toBe(false);
  });

  test('both selectors in one peer mean those pods in those namespaces; in two peers, either', () => {
    const both = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } },
              podSelector: { matchLabels: { app: 'x' } },
            },
          ],
        },
      ],
    });
    expect(ingressAllowed([both], outsider, web, port)).toBe(false);
    const either = policy({
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } },
            { podSelector: { matchLabels: { app: 'x' } } },
          ],
        },
      ],
    });
    expect(ingressAllowed([either], outsider, web, port)).toBe(true);
  });

  test('a rule without from, or with an ipBlock, lets everyone in; ports narrow it', () => {
    expect(ingressAllowed([policy({ podSelector: {}, ingress: [{}] })], outsider, web, port)).toBe(true);
    expect(
      ingressAllowed(
        [policy({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })],
        outsider,
        web,
        port,
      ),
    ).toBe(true);
    const onlyOther = policy({ podSelector: {}, ingress: [{ ports: [{ port: 'metrics' }] }] });
    expect(ingressAllowed([onlyOther], friend, web, port)).toBe(false);
    expect(ingressAllowed([onlyOther], friend, web, { number: 9100, name: 'metrics' })).toBe(true);
  });

  test('matchExpressions In / NotIn / Exists', () => {
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, web.labels),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, web.labels),
    ).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, web.labels)).toBe(
      false,
    );
  });

  test('a container setting overrides the pod default', () => {
    const context = effectiveSecurityContext(
      { securityContext: { runAsUser: 10001, runAsNonRoot: true }, containers: [] },
      { name: 'c', securityContext: { runAsUser: 0 } },
    );
    expect(context).toMatchObject({ runAsUser: 0, runAsNonRoot: true });
  });
});
