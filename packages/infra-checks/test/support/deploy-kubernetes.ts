import { parseAllDocuments } from 'yaml';
import type { LabelSelector, Labels, NetworkPolicy } from './deploy-network-policy';
import { repoPath, runTool } from './deploy-repo';

export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The kubectl that renders: $KUBECTL, else `kubectl` on PATH. */
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const INSTALL_HINT =
  "install Debian's kubernetes-client (apt-get install kubernetes-client), or set KUBECTL to a kubectl binary";

// ---- The parts of the Kubernetes objects these checks read.

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}

export interface Probe {
  httpGet?: { path?: string; port?: number | string };
  exec?: { command?: string[] };
  tcpSocket?: { port?: number | string };
}

export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown; configMapKeyRef?: unknown } }[];
  envFrom?: { secretRef?: unknown; configMapRef?: unknown }[];
  securityContext?: SecurityContext;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}

export interface SecretProjection {
  name?: string;
  optional?: boolean;
  items?: { key: string; path: string }[];
}

export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  secret?: { secretName?: string; optional?: boolean; items?: { key: string; path: string }[] };
  projected?: { sources?: { secret?: SecretProjection; configMap?: unknown }[] };
  configMap?: unknown;
  persistentVolumeClaim?: unknown;
  ephemeral?: unknown;
}

export interface PodSpec {
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

export interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Record<string, string> };
  spec: PodSpec;
}

/** The spec fields read here, across the kinds that have them. */
export interface K8sSpec {
  template?: PodTemplate;
  jobTemplate?: { spec?: { template?: PodTemplate } };
  /** A LabelSelector, except on a Service (plain labels). */
  selector?: unknown;
  replicas?: number;
  scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: {
    type: string;
    resource?: { name: string; target?: { type?: string; averageUtilization?: number } };
  }[];
  maxUnavailable?: number | string;
  minAvailable?: number | string;
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  spec?: K8sSpec;
}

export const WORKLOAD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicaSet',
  'Pod',
];

export interface Workload {
  object: K8sObject;
  /** "Deployment/gateway" */
  id: string;
  template: PodTemplate;
}

// ---- Rendering

/** `kubectl kustomize infra/k8s/overlays/<overlay>`, for real; every document parsed. */
export function renderOverlay(overlay: Overlay | string): K8sObject[] {
  const dir = overlay.includes('/') ? overlay : repoPath('infra/k8s/overlays', overlay);
  const result = runTool(KUBECTL, ['kustomize', dir], { installHint: INSTALL_HINT });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  return parseManifests(result.stdout, dir);
}

export function parseManifests(text: string, origin: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${origin}: ${document.errors[0]?.message}`);
    const value = document.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
}

export function networkPolicies(objects: K8sObject[]): NetworkPolicy[] {
  return ofKind<NetworkPolicy>(objects, 'NetworkPolicy');
}

// ---- Workloads

export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.includes(o.kind))
    .map((object) => {
      const template: PodTemplate | undefined =
        object.kind === 'CronJob'
          ? object.spec?.jobTemplate?.spec?.template
          : object.kind === 'Pod'
            ? { metadata: object.metadata, spec: object.spec as unknown as PodSpec }
            : object.spec?.template;
      if (!template?.spec) throw new Error(`${object.kind}/${object.metadata.name} has no pod template`);
      return { object, id: `${object.kind}/${object.metadata.name}`, template };
    });
}

export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** What applies to the container once the pod's defaults are taken into account. */
export function effectiveSecurityContext(pod: PodSpec, container: Container): SecurityContext {
  const podContext = pod.securityContext ?? {};
  const own = container.securityContext ?? {};
  return {
    runAsNonRoot: own.runAsNonRoot ?? podContext.runAsNonRoot,
    runAsUser: own.runAsUser ?? podContext.runAsUser,
    seccompProfile: own.seccompProfile ?? podContext.seccompProfile,
    // Only settable per container:
    readOnlyRootFilesystem: own.readOnlyRootFilesystem,
    allowPrivilegeEscalation: own.allowPrivilegeEscalation,
    privileged: own.privileged,
    capabilities: own.capabilities,
  };
}

/** Every secret-backed volume of a pod, and the secret names and files it projects. */
export function secretVolumes(spec: PodSpec): { volume: Volume; sources: SecretProjection[] }[] {
  return (spec.volumes ?? []).flatMap((volume) => {
    if (volume.secret) {
      return [
        {
          volume,
          sources: [
            {
              name: volume.secret.secretName,
              optional: volume.secret.optional,
              items: volume.secret.items,
            },
          ],
        },
      ];
    }
    const projected = (volume.projected?.sources ?? []).flatMap((s) => (s.secret ? [s.secret] : []));
    return projected.length > 0 ? [{ volume, sources: projected }] : [];
  });
}

/** The pods an object selects (a Service's plain labels read as matchLabels). */
export function labelSelectorOf(object: K8sObject): LabelSelector | undefined {
  const selector = object.spec?.selector;
  if (selector === undefined) return undefined;
  return object.kind === 'Service' ? { matchLabels: selector as Labels } : (selector as LabelSelector);
}
