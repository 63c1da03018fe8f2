import type { IncomingMessage, ServerResponse } from 'node:http';

// Security headers are the gateway's to set for the browser (helmet, configured for the web
// client). An upstream's own helmet defaults (a different CSP, SAMEORIGIN framing) must not win.
const GATEWAY_OWNED = [
  'content-security-policy',
  'content-security-policy-report-only',
  'strict-transport-security',
  'x-frame-options',
  'x-content-type-options',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'cross-origin-embedder-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
  'x-powered-by',
];

export interface ScrubOptions {
  /** Only auth may set cookies on the browser; anything else setting one is dropped. */
  allowSetCookie: boolean;
  /** Server-sent events: ask the edge not to buffer. */
  streaming: boolean;
}

/** Adjusts an upstream response's headers before the proxy copies them onto ours. */
export function scrubUpstreamResponse(
  proxyRes: IncomingMessage,
  res: ServerResponse,
  options: ScrubOptions,
): void {
  for (const name of GATEWAY_OWNED) delete proxyRes.headers[name];
  const theirs = proxyRes.headers['set-cookie'];
  if (!options.allowSetCookie) {
    delete proxyRes.headers['set-cookie'];
  } else if (theirs) {
    // The proxy copies headers with setHeader, which would drop a re-signed session cookie the
    // gateway already appended: keep both.
    const ours = res.getHeader('set-cookie');
    if (ours !== undefined) proxyRes.headers['set-cookie'] = [...[ours].flat().map(String), ...theirs];
  }
  if (options.streaming) proxyRes.headers['x-accel-buffering'] = 'no';
}
