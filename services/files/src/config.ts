import {
  ConfigError,
  type Env,
  envBoolean,
  httpSettings,
  keyRingSecret,
  loadConfig,
  observabilitySettings,
  textSecret,
} from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';
import { z } from 'zod';

export const SERVICE = 'files';
export const DEFAULT_PORT = 3002;

/** files accepts tokens from the gateway (users) and from jobs (exports, purges); it signs none. */
export const tokenKeyPlan: TokenKeyPlan = {
  service: SERVICE,
  audiences: [],
  trustedIssuers: ['gateway', 'jobs'],
};

const GIB = 1024 ** 3;
const bytes = (fallback: number) =>
  z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(fallback);

/** Limits and the at-rest format. FILES_MAX_OBJECT_BYTES must equal the edge's client_max_body_size. */
export const storageSettings = z
  .object({
    FILES_BACKEND: z.enum(['local', 's3']).default('local'),
    FILES_ROOT: z.string().min(1).default('/var/lib/tenantmesh/files'),
    FILES_MAX_OBJECT_BYTES: bytes(GIB),
    FILES_QUOTA_BYTES: bytes(10 * GIB),
    FILES_CHUNK_BYTES: z.coerce
      .number()
      .int()
      .min(4096)
      .max(16 * 1024 * 1024)
      .default(65536),
    FILES_REWRAP_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
    FILES_S3_BUCKET: z.string().min(3).max(63).optional(),
    FILES_S3_REGION: z.string().min(1).default('us-east-1'),
    FILES_S3_ENDPOINT: z.url().optional(),
    FILES_S3_FORCE_PATH_STYLE: envBoolean.default(false),
    FILES_S3_SSE: z.enum(['AES256', 'aws:kms']).default('AES256'),
    FILES_S3_KMS_KEY_ID: z.string().min(1).optional(),
  })
  .refine((e) => e.FILES_BACKEND !== 's3' || e.FILES_S3_BUCKET !== undefined, {
    message: 'FILES_S3_BUCKET is required when FILES_BACKEND=s3',
    path: ['FILES_S3_BUCKET'],
  })
  .transform((e) => ({
    backend: e.FILES_BACKEND,
    root: e.FILES_ROOT,
    maxObjectBytes: e.FILES_MAX_OBJECT_BYTES,
    quotaBytes: e.FILES_QUOTA_BYTES,
    chunkBytes: e.FILES_CHUNK_BYTES,
    rewrapIntervalMs: e.FILES_REWRAP_INTERVAL_MS,
    s3: {
      bucket: e.FILES_S3_BUCKET ?? '',
      region: e.FILES_S3_REGION,
      endpoint: e.FILES_S3_ENDPOINT,
      forcePathStyle: e.FILES_S3_FORCE_PATH_STYLE,
      serverSideEncryption: e.FILES_S3_SSE,
      kmsKeyId: e.FILES_S3_KMS_KEY_ID,
    },
  }));

export const filesSecrets = {
  // Rolling: re-read live; the newest key wraps new data keys, older ones are re-wrapped.
  masterKeys: keyRingSecret('files_master_keys'),
  // Restart class, S3 backend only; absent, the AWS SDK's default chain (e.g. a web-identity token file).
  s3AccessKeyId: textSecret('files_s3_access_key_id', { optional: true }),
  s3SecretAccessKey: textSecret('files_s3_secret_access_key', { optional: true }),
} as const;

// The AWS SDK would read these from the environment by itself; secrets come only from files here.
const AWS_SECRET_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID'];

export function loadFilesConfig(env: Env) {
  const present = AWS_SECRET_VARIABLES.filter((name) => env[name] !== undefined);
  if (present.length > 0) {
    throw new ConfigError(
      present.map(
        (name) =>
          `${name}: must not be set; S3 credentials come from the files_s3_access_key_id and files_s3_secret_access_key secret files`,
      ),
    );
  }
  return loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
      storage: storageSettings,
    },
    secrets: { ...databaseSecrets, ...tokenKeySecrets(tokenKeyPlan), ...filesSecrets },
  });
}

export type FilesConfig = ReturnType<typeof loadFilesConfig>;
