import type { Env } from '@tenantmesh/config';
import { z } from 'zod';

/** Every service the gateway can route to. Each name is also a token audience. */
export const UPSTREAMS = ['auth', 'files', 'events', 'jobs', 'notes'] as const;
export type Upstream = (typeof UPSTREAMS)[number];

const urlVariable = (upstream: Upstream) => `${upstream.toUpperCase()}_URL`;

// An empty variable (`FILES_URL=` in a compose file) means "not configured", not "invalid".
const upstreamUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
    .refine((u) => {
      const url = new URL(u);
      return !url.username && !url.password && !url.search && !url.hash;
    }, 'must be a base URL without credentials, query or fragment')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
);

/**
 * Where each upstream lives. All optional: a route whose upstream is not configured answers 503,
 * so the gateway can run before every service exists.
 */
export const upstreamSettings = z
  .object({
    AUTH_URL: upstreamUrl,
    FILES_URL: upstreamUrl,
    EVENTS_URL: upstreamUrl,
    JOBS_URL: upstreamUrl,
    NOTES_URL: upstreamUrl,
    UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  })
  .transform((e) => ({
    urls: {
      auth: e.AUTH_URL,
      files: e.FILES_URL,
      events: e.EVENTS_URL,
      jobs: e.JOBS_URL,
      notes: e.NOTES_URL,
    } satisfies Record<Upstream, string | undefined>,
    timeoutMs: e.UPSTREAM_TIMEOUT_MS,
  }));

/**
 * The upstreams named in the environment, read before validation: the token key rings the gateway
 * must load depend on it (no FILES_URL, no token_keys_gateway_files needed).
 */
export function configuredUpstreams(env: Env): Upstream[] {
  return UPSTREAMS.filter((upstream) => (env[urlVariable(upstream)] ?? '') !== '');
}
