import { KeyRing, keyRingSecret } from '@tenantmesh/config';
import { assertServiceName } from './identifiers';

/**
 * Keys are pairwise — one ring per (issuer → audience) — so a compromised service can forge
 * tokens only to itself, never as the gateway to a third service. A service holds the rings it
 * signs with (by audience) and the rings addressed to it (by issuer), nothing else.
 */
export interface TokenKeys {
  readonly signing: ReadonlyMap<string, KeyRing>;
  readonly verifying: ReadonlyMap<string, KeyRing>;
}

/** Which pairs a service takes part in. */
export interface TokenKeyPlan {
  /** This service's name: the issuer of what it signs, the audience of what it verifies. */
  readonly service: string;
  /** Services this one mints tokens for. */
  readonly audiences: readonly string[];
  /** Services whose tokens this one accepts. */
  readonly trustedIssuers: readonly string[];
}

type RingSecret = ReturnType<typeof keyRingSecret>;

export function tokenKeySecretName(issuer: string, audience: string): string {
  assertServiceName(issuer, 'issuer');
  assertServiceName(audience, 'audience');
  return `token_keys_${issuer}_${audience}`;
}

/**
 * The secrets to hand to `loadConfig`, keyed by secret name so they can be spread beside a
 * service's other secrets and so `tokenKeysFrom` can find them again.
 */
export function tokenKeySecrets(plan: TokenKeyPlan): Record<string, RingSecret> {
  const secrets: Record<string, RingSecret> = {};
  for (const name of pairNames(plan)) secrets[name] = keyRingSecret(name);
  return secrets;
}

/** Builds the key maps from a loaded config's secrets; throws if a pair's ring is not there. */
export function tokenKeysFrom(secrets: Readonly<Record<string, unknown>>, plan: TokenKeyPlan): TokenKeys {
  const ringFor = (name: string): KeyRing => {
    const ring = secrets[name];
    if (!(ring instanceof KeyRing)) {
      throw new Error(`secret ${name} is not loaded (add tokenKeySecrets() to loadConfig)`);
    }
    return ring;
  };
  return {
    signing: new Map(
      plan.audiences.map((audience) => [audience, ringFor(tokenKeySecretName(plan.service, audience))]),
    ),
    verifying: new Map(
      plan.trustedIssuers.map((issuer) => [issuer, ringFor(tokenKeySecretName(issuer, plan.service))]),
    ),
  };
}

/** Starts polling every ring's file (rolling rotation without restart); returns a function that stops it. */
export function watchTokenKeys(keys: TokenKeys, intervalMs?: number): () => void {
  const rings = new Set([...keys.signing.values(), ...keys.verifying.values()]);
  for (const ring of rings) ring.watch(intervalMs);
  return () => {
    for (const ring of rings) ring.stop();
  };
}

function pairNames(plan: TokenKeyPlan): string[] {
  return [
    ...plan.audiences.map((audience) => tokenKeySecretName(plan.service, audience)),
    ...plan.trustedIssuers.map((issuer) => tokenKeySecretName(issuer, plan.service)),
  ];
}
