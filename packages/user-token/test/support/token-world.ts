import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type KeyRing, loadConfig } from '@tenantmesh/config';
import { type TokenKeyPlan, type TokenKeys, tokenKeySecrets, tokenKeysFrom } from '../../src';
import { makeSecretsDir, newKey, writeRing } from './ring-files';

/** Every ring uses the same kid, as operators rotating all pairs at once would: isolation must come from the keys. */
export const KID = '2026-01';

/**
 * Four services' key rings in one secrets directory, loaded the way services load them
 * (loadConfig + tokenKeySecrets): files trusts gateway and jobs; gateway also signs for events;
 * auth has a ring to files that files does not list as trusted.
 */
export function buildTokenWorld() {
  const secrets = makeSecretsDir();
  for (const name of [
    'token_keys_gateway_files',
    'token_keys_jobs_files',
    'token_keys_gateway_events',
    'token_keys_auth_files',
  ]) {
    writeRing(path.join(secrets.dir, name), [newKey(KID)]);
  }
  const load = (plan: TokenKeyPlan): TokenKeys =>
    tokenKeysFrom(
      loadConfig({ SECRETS_DIR: secrets.dir }, { settings: {}, secrets: tokenKeySecrets(plan) }).secrets,
      plan,
    );

  const files = load({ service: 'files', audiences: [], trustedIssuers: ['gateway', 'jobs'] });
  const gateway = load({ service: 'gateway', audiences: ['files', 'events'], trustedIssuers: [] });
  const jobs = load({ service: 'jobs', audiences: ['files'], trustedIssuers: [] });
  const auth = load({ service: 'auth', audiences: ['files'], trustedIssuers: [] });
  const signer = (keys: TokenKeys, audience: string): KeyRing => {
    const ring = keys.signing.get(audience);
    if (!ring) throw new Error(`no ring for ${audience}`);
    return ring;
  };
  return {
    files,
    gatewayToFiles: signer(gateway, 'files'),
    gatewayToEvents: signer(gateway, 'events'),
    jobsToFiles: signer(jobs, 'files'),
    authToFiles: signer(auth, 'files'),
    remove: secrets.remove,
  };
}

/** The claims a well-behaved gateway would put in a token for files, now. */
export function gatewayClaims(uid: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: 'gateway', sub: uid, aud: 'files', iat, exp: iat + 60, jti: randomUUID(), ...overrides };
}
