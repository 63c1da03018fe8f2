import { type Env, httpSettings, loadConfig, observabilitySettings } from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';

export const SERVICE = 'notes';
export const DEFAULT_PORT = 3005;

/** notes accepts tokens minted by the gateway and signs none. */
export const tokenKeyPlan: TokenKeyPlan = { service: SERVICE, audiences: [], trustedIssuers: ['gateway'] };

export function loadNotesConfig(env: Env) {
  return loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
    },
    secrets: { ...databaseSecrets, ...tokenKeySecrets(tokenKeyPlan) },
  });
}

export type NotesConfig = ReturnType<typeof loadNotesConfig>;
