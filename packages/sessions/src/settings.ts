import { keyRingSecret } from '@tenantmesh/config';
import { z } from 'zod';

export const sessionSettings = z
  .object({
    SESSION_IDLE_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 86400)
      .default(86400),
    SESSION_ABSOLUTE_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(300)
      .max(90 * 86400)
      .default(14 * 86400),
  })
  .refine((e) => e.SESSION_IDLE_TTL_SECONDS <= e.SESSION_ABSOLUTE_TTL_SECONDS, {
    message: 'SESSION_IDLE_TTL_SECONDS must not exceed SESSION_ABSOLUTE_TTL_SECONDS',
    path: ['SESSION_IDLE_TTL_SECONDS'],
  })
  .transform((e) => ({
    idleTtlSeconds: e.SESSION_IDLE_TTL_SECONDS,
    absoluteTtlSeconds: e.SESSION_ABSOLUTE_TTL_SECONDS,
  }));

/** The session cookie's signing ring (rolling rotation, same file format as token rings). */
export const sessionSecrets = { cookieKeys: keyRingSecret('cookie_keys') } as const;
