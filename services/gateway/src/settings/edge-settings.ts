import { z } from 'zod';

/**
 * How the gateway meets the outside world: the origin browsers see (CSRF checks, security.txt;
 * required, like auth's, because a wrong default would either refuse every browser or name the
 * wrong site) and how many proxies in front of it to believe about the client's address.
 */
export const edgeSettings = z
  .object({
    PUBLIC_ORIGIN: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
      .refine((u) => {
        const url = new URL(u);
        return url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
      }, 'must be an origin only, like https://app.example.com'),
    // 0: directly exposed, X-Forwarded-For is ignored. 1: behind the nginx edge, which sets
    // X-Forwarded-For to the client address (the last, and only, entry the gateway believes). Never more than the real number of hops,
    // or clients choose their own address and dodge the rate limit.
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  })
  .transform((e) => ({
    publicOrigin: new URL(e.PUBLIC_ORIGIN).origin,
    trustProxyHops: e.TRUST_PROXY_HOPS,
  }));
