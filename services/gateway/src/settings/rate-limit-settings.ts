import { z } from 'zod';

/** Per-IP request budgets, per minute. /auth/* has its own, stricter one on top of the general one. */
export const rateLimitSettings = z
  .object({
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(300),
    AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
  })
  .transform((e) => ({ perMinute: e.RATE_LIMIT_PER_MINUTE, authPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE }));
