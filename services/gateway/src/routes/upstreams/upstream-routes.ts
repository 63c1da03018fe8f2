import type { Upstream } from '../../settings/upstream-settings';

export interface UpstreamRoute {
  upstream: Upstream;
  /** Express 5 path patterns, matched case-insensitively like every express route. */
  paths: string[];
  /** Needs a session; the upstream gets a fresh X-User-Token minted for it. */
  authenticated: boolean;
  /** Public path (with query) → upstream path, given the session's uid; kept as is when absent. */
  rewritePath?: (url: string, uid: string) => string;
  /** Server-sent events: no upstream timeout, no buffering at the edge. */
  streaming?: boolean;
  /** The only methods the public may use here (others: 405); all when absent. */
  methods?: readonly string[];
}

/** `/api/notes/x?y` → `/x?y`: notes serves its resources at its root. */
export function stripPrefix(prefix: string): (url: string) => string {
  return (url) => {
    const rest = url.slice(prefix.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  };
}

/**
 * `/api/files/<name>?q` → `/objects/<uid>/<name>?q` and `/api/files` → `/objects/<uid>/`: the
 * caller's own namespace, from the session, never from the client. The name passes through raw
 * (still percent-encoded) for the files service to validate.
 */
export function filesNamespace(url: string, uid: string): string {
  const rest = url.slice('/api/files'.length);
  const [pathPart = '', query] = splitQuery(rest);
  const name = pathPart.replace(/^\//, '');
  return `/objects/${uid}/${name}${query === undefined ? '' : `?${query}`}`;
}

function splitQuery(url: string): [string, string | undefined] {
  const at = url.indexOf('?');
  return at === -1 ? [url, undefined] : [url.slice(0, at), url.slice(at + 1)];
}

/**
 * The public routing table (README "Routes", docs/openapi.yaml). auth gets the public path
 * unchanged; every other service gets only its resource, so its /healthz, /readyz and /metrics stay
 * unreachable from outside: files the caller's namespace (filesNamespace) under /objects, events
 * exactly `/api/events` → `/events` (GET only), jobs `/api/jobs…` → `/jobs…`, notes
 * `/api/notes/notebooks…` → `/notebooks…`. notes (the reference
 * service, which serves /notebooks at its root) gets only its /notebooks resource, prefix
 * stripped, for the same reason.
 */
export const UPSTREAM_ROUTES: readonly UpstreamRoute[] = [
  { upstream: 'auth', paths: ['/auth{/*rest}'], authenticated: false },
  { upstream: 'auth', paths: ['/api/me{/*rest}'], authenticated: true },
  { upstream: 'files', paths: ['/api/files{/*rest}'], authenticated: true, rewritePath: filesNamespace },
  // Browsers only read their stream; publishing is for services (POST /events with their own token).
  {
    upstream: 'events',
    paths: ['/api/events'],
    authenticated: true,
    streaming: true,
    rewritePath: stripPrefix('/api'),
    methods: ['GET', 'HEAD'],
  },
  { upstream: 'jobs', paths: ['/api/jobs{/*rest}'], authenticated: true, rewritePath: stripPrefix('/api') },
  {
    upstream: 'notes',
    paths: ['/api/notes/notebooks{/*rest}'],
    authenticated: true,
    rewritePath: stripPrefix('/api/notes'),
  },
];
