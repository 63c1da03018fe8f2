import { z } from 'zod';
import { textSecret } from './load-config';

/** Environment variables are strings; this reads "true"/"1"/"yes" and their opposites. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const port = z.coerce.number().int().min(0).max(65535);

/** HTTP listener settings every service shares. */
export const httpSettings = (defaultPort: number) =>
  z
    .object({
      HOST: z.string().default('127.0.0.1'),
      PORT: port.default(defaultPort),
      BODY_LIMIT: z
        .string()
        .regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb or 1mb')
        .default('100kb'),
      SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
    })
    .transform((e) => ({
      host: e.HOST,
      port: e.PORT,
      bodyLimit: e.BODY_LIMIT,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    }));

/** Logging and tracing settings every service shares. */
export const observabilitySettings = z
  .object({
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'debug']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
    SECRET_RELOAD_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  })
  .transform((e) => ({
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    secretReloadIntervalMs: e.SECRET_RELOAD_INTERVAL_MS,
  }));

/** Redis is optional: without REDIS_URL a single node uses in-process state. */
export const redisSettings = z
  .object({
    REDIS_URL: z
      .url()
      .refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss://')
      .refine(
        (u) => !new URL(u).password,
        'must not contain a password; put it in the redis_password secret file',
      )
      .optional(),
  })
  .transform((e) => ({ url: e.REDIS_URL }));

/** Optional: only a Redis that asks for a password needs it (restart class). */
export const redisSecrets = { redisPassword: textSecret('redis_password', { optional: true }) } as const;
