import type { Upstream } from '../../settings/upstream-settings';

export interface UpstreamRoute {
  upstream: Upstream;
  /** Express 5 path patterns, matched case-insensitively like every express route. */
  paths: string[];
  /** Needs a session; the upstream gets a fresh X-User-Token minted for it. */
  authenticated: boolean;
  /** Public path (with query) → upstream path; the path is kept as is when absent. */
  rewritePath?: (url: string) => string;
  /** Server-sent events: no upstream timeout, no buffering at the edge. */
  streaming?: boolean;
}

/** `/api/notes/x?y` → `/x?y`: notes serves its resources at its root. */
export function stripPrefix(prefix: string): (url: string) => string {
  return (url) => {
    const rest = url.slice(prefix.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  };
}

/**
 * The public routing table (README "Routes", docs/openapi.yaml). auth, files, events and jobs get
 * the public path unchanged, so everything under /api/<service> is that service's public surface
 * and its /healthz, /readyz and /metrics stay unreachable from outside. notes (the reference
 * service, which serves /notebooks at its root) gets only its /notebooks resource, prefix
 * stripped, for the same reason.
 */
export const UPSTREAM_ROUTES: readonly UpstreamRoute[] = [
  { upstream: 'auth', paths: ['/auth{/*rest}'], authenticated: false },
  { upstream: 'auth', paths: ['/api/me{/*rest}'], authenticated: true },
  { upstream: 'files', paths: ['/api/files{/*rest}'], authenticated: true },
  { upstream: 'events', paths: ['/api/events{/*rest}'], authenticated: true, streaming: true },
  { upstream: 'jobs', paths: ['/api/jobs{/*rest}'], authenticated: true },
  {
    upstream: 'notes',
    paths: ['/api/notes/notebooks{/*rest}'],
    authenticated: true,
    rewritePath: stripPrefix('/api/notes'),
  },
];
