/**
 * A small evaluator of Kubernetes NetworkPolicy ingress rules (networking.k8s.io/v1 semantics),
 * so tests can ask "may this pod open a connection to that one on this port?" of rendered
 * manifests instead of matching them against a template:
 * - a pod that no policy selects (for Ingress) accepts everything; once one selects it, only what
 *   some rule of some selecting policy allows gets in;
 * - a peer with both namespaceSelector and podSelector means those pods IN those namespaces; a
 *   peer with only podSelector means pods in the policy's own namespace;
 * - a rule with no `from` allows every source; no `ports` allows every port; a named port matches
 *   the target container port of that name.
 */
export type Labels = Record<string, string>;

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  port?: number | string;
  protocol?: string;
  endPort?: number;
}

export interface NetworkPolicy {
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

export interface Pod {
  /** A name for messages. */
  name: string;
  namespace: string;
  labels: Labels;
}

export interface TargetPort {
  number: number;
  name?: string;
  protocol?: string;
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${String(expression.operator)}`);
    }
  }
  return true;
}

/** Kubernetes labels every namespace with its own name (1.21+). */
export function namespaceLabels(namespace: string): Labels {
  return { 'kubernetes.io/metadata.name': namespace };
}

function governsIngress(policy: NetworkPolicy): boolean {
  // Without policyTypes, a policy is an Ingress policy (plus Egress if it has egress rules).
  return policy.spec.policyTypes === undefined || policy.spec.policyTypes.includes('Ingress');
}

export function policySelects(policy: NetworkPolicy, pod: Pod): boolean {
  return (
    (policy.metadata.namespace ?? 'default') === pod.namespace &&
    governsIngress(policy) &&
    selectorMatches(policy.spec.podSelector, pod.labels)
  );
}

function peerAdmits(peer: NetworkPolicyPeer, policyNamespace: string, source: Pod): boolean {
  // An address range cannot be judged against pod labels: treat it as letting anyone in, so a
  // policy that opens one is never mistaken for a tight one.
  if (peer.ipBlock) return true;
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels(source.namespace))
    : source.namespace === policyNamespace;
  return namespaceOk && selectorMatches(peer.podSelector, source.labels);
}

function portAdmits(ports: NetworkPolicyPort[] | undefined, target: TargetPort): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== (target.protocol ?? 'TCP')) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return p.port === target.name;
    return p.endPort !== undefined
      ? target.number >= p.port && target.number <= p.endPort
      : p.port === target.number;
  });
}

/** May `source` open a connection to `target` on `port`, given every policy in the cluster? */
export function ingressAllowed(
  policies: NetworkPolicy[],
  source: Pod,
  target: Pod,
  port: TargetPort,
): boolean {
  const selecting = policies.filter((policy) => policySelects(policy, target));
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule) =>
        (rule.from === undefined ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerAdmits(peer, policy.metadata.namespace ?? 'default', source))) &&
        portAdmits(rule.ports, port),
    ),
  );
}
