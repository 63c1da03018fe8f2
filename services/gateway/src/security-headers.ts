import type { ServiceOptions } from '@tenantmesh/http-kit';

/**
 * helmet settings for a browser-facing origin: the web client loads only its own scripts, styles
 * and connections, is never framed, and browsers stick to HTTPS for two years, subdomains included.
 * helmet's other defaults (nosniff, Referrer-Policy, COOP, …) stay on.
 */
export const GATEWAY_HELMET: NonNullable<ServiceOptions['helmet']> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
    },
  },
  strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true },
  // For browsers that predate frame-ancestors.
  xFrameOptions: { action: 'deny' },
  xContentTypeOptions: true,
};
