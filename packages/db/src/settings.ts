import { textSecret } from '@tenantmesh/config';
import { z } from 'zod';
import { DEFAULT_RUNTIME_LOGIN, OWNER_ROLE } from './roles';

/**
 * DATABASE_URL names the server and database only; the role passwords are secret files
 * (restart class: a changed password needs a restart, see docs/secrets.md).
 */
export const databaseSettings = z
  .object({
    DATABASE_URL: z
      .url()
      .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must start with postgres://')
      .refine(
        (u) => !new URL(u).password,
        'must not contain a password; use the db_owner_password and db_runtime_password secret files',
      ),
    DATABASE_OWNER_USER: z.string().default(OWNER_ROLE),
    DATABASE_RUNTIME_USER: z.string().default(DEFAULT_RUNTIME_LOGIN),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
    DATABASE_MIGRATE_ON_BOOT: z.enum(['true', 'false']).default('true'),
  })
  .transform((e) => ({
    url: e.DATABASE_URL,
    ownerUser: e.DATABASE_OWNER_USER,
    runtimeUser: e.DATABASE_RUNTIME_USER,
    poolMax: e.DATABASE_POOL_MAX,
    migrateOnBoot: e.DATABASE_MIGRATE_ON_BOOT === 'true',
  }));

/** Both passwords are optional: a trust-auth or peer-auth server needs none. */
export const databaseSecrets = {
  dbOwnerPassword: textSecret('db_owner_password', { optional: true }),
  dbRuntimePassword: textSecret('db_runtime_password', { optional: true }),
} as const;
