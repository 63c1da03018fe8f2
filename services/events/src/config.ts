import {
  type Env,
  httpSettings,
  loadConfig,
  observabilitySettings,
  redisSecrets,
  redisSettings,
} from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';
import { z } from 'zod';

export const SERVICE = 'events';
export const DEFAULT_PORT = 3003;

/** events accepts streams and publishes from the gateway (users) and publishes from jobs; it signs none. */
export const tokenKeyPlan: TokenKeyPlan = {
  service: SERVICE,
  audiences: [],
  trustedIssuers: ['gateway', 'jobs'],
};

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const streamSettings = z
  .object({
    EVENTS_MAX_STREAMS_PER_USER: int(1, 1000, 6),
    EVENTS_MAX_STREAMS: int(1, 1_000_000, 10_000),
    // Proxies close quiet streams after ~30-60 s: a comment at least every 25 s keeps them open.
    EVENTS_HEARTBEAT_MS: int(100, 25_000, 25_000),
    EVENTS_LEASE_TTL_MS: int(300, 600_000, 30_000),
    EVENTS_RETENTION_HOURS: z.coerce
      .number()
      .positive()
      .max(24 * 365)
      .default(168),
    EVENTS_PRUNE_INTERVAL_MS: int(100, 86_400_000, 600_000),
    EVENTS_RECONNECT_MS: int(0, 600_000, 2000),
    EVENTS_MAX_STREAM_SECONDS: int(1, 86_400, 3600),
    // Namespaces this deployment's Redis keys and channels (several meshes, or tests, on one Redis).
    EVENTS_REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/)
      .default('tenantmesh:'),
  })
  .transform((e) => ({
    maxStreamsPerUser: e.EVENTS_MAX_STREAMS_PER_USER,
    maxStreams: e.EVENTS_MAX_STREAMS,
    heartbeatMs: e.EVENTS_HEARTBEAT_MS,
    leaseTtlMs: e.EVENTS_LEASE_TTL_MS,
    retentionHours: e.EVENTS_RETENTION_HOURS,
    pruneIntervalMs: e.EVENTS_PRUNE_INTERVAL_MS,
    reconnectMs: e.EVENTS_RECONNECT_MS,
    maxStreamMs: e.EVENTS_MAX_STREAM_SECONDS * 1000,
    redisPrefix: e.EVENTS_REDIS_PREFIX,
  }));

export type StreamSettings = z.output<typeof streamSettings>;

export function loadEventsConfig(env: Env) {
  return loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
      redis: redisSettings,
      streams: streamSettings,
    },
    secrets: { ...databaseSecrets, ...redisSecrets, ...tokenKeySecrets(tokenKeyPlan) },
  });
}

export type EventsConfig = ReturnType<typeof loadEventsConfig>;
