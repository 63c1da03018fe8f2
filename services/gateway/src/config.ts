import {
  type Env,
  httpSettings,
  loadConfig,
  observabilitySettings,
  redisSecrets,
  redisSettings,
} from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { sessionSecrets, sessionSettings } from '@tenantmesh/sessions';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';
import { edgeSettings } from './settings/edge-settings';
import { rateLimitSettings } from './settings/rate-limit-settings';
import { securityTxtSettings } from './settings/security-txt-settings';
import { configuredUpstreams, type Upstream, upstreamSettings } from './settings/upstream-settings';
import { webSettings } from './settings/web-settings';

export const SERVICE = 'gateway';
export const DEFAULT_PORT = 3000;

/**
 * The gateway signs tokens for the upstreams it is configured to reach and trusts no one's. A ring
 * is required only for a configured upstream: a gateway without FILES_URL needs no
 * token_keys_gateway_files.
 */
export function tokenKeyPlanFor(upstreams: readonly Upstream[]): TokenKeyPlan {
  return { service: SERVICE, audiences: [...upstreams], trustedIssuers: [] };
}

export function loadGatewayConfig(env: Env) {
  const plan = tokenKeyPlanFor(configuredUpstreams(env));
  const config = loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
      redis: redisSettings,
      sessions: sessionSettings,
      upstreams: upstreamSettings,
      edge: edgeSettings,
      rateLimit: rateLimitSettings,
      securityTxt: securityTxtSettings,
      web: webSettings,
    },
    secrets: { ...databaseSecrets, ...redisSecrets, ...sessionSecrets, ...tokenKeySecrets(plan) },
  });
  return Object.freeze({ ...config, tokenKeyPlan: plan });
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
