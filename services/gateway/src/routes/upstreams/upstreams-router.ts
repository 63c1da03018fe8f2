import type { KeyRing } from '@tenantmesh/config';
import { AppError, errors } from '@tenantmesh/http-kit';
import type { Logger } from '@tenantmesh/observability';
import { mintUserToken } from '@tenantmesh/user-token';
import express, { type RequestHandler, type Router } from 'express';
import { SERVICE } from '../../config';
import { sessionUidOf } from '../../middleware/require-session';
import { createUpstreamProxy } from '../../proxy/create-upstream-proxy';
import { setForwardHeaders } from '../../proxy/forward-headers';
import type { UpstreamAgents } from '../../proxy/upstream-agents';
import type { Upstream } from '../../settings/upstream-settings';
import { UPSTREAM_ROUTES, type UpstreamRoute } from './upstream-routes';

export interface UpstreamsRouterOptions {
  /** Base URL of each configured upstream. */
  urls: Partial<Record<Upstream, string>>;
  /** gateway→<upstream> signing rings, one per configured upstream. */
  signingRings: ReadonlyMap<string, Pick<KeyRing, 'signingKey'>>;
  agents: UpstreamAgents;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Every route of the table: a proxy to its upstream, or 503 `service_unavailable` when that
 * upstream is not configured. Authenticated routes must be mounted behind requireSession.
 */
export function upstreamsRouter(options: UpstreamsRouterOptions): Router {
  const router = express.Router();
  for (const route of UPSTREAM_ROUTES) {
    const url = options.urls[route.upstream];
    if (url === undefined) {
      router.all(route.paths, notConfigured(route.upstream));
      continue;
    }
    router.all(
      route.paths,
      allowOnly(route.methods),
      prepareHeaders(route, options),
      proxyFor(route, url, options),
    );
  }
  return router;
}

function allowOnly(methods: readonly string[] | undefined): RequestHandler {
  return (req, res, next) => {
    if (methods && !methods.includes(req.method)) {
      res.setHeader('Allow', methods.join(', '));
      throw new AppError('method_not_allowed', `use ${methods.join(' or ')}`);
    }
    next();
  };
}

function notConfigured(upstream: Upstream): RequestHandler {
  return () => {
    throw errors.serviceUnavailable(`the ${upstream} service is not configured`);
  };
}

function prepareHeaders(route: UpstreamRoute, options: UpstreamsRouterOptions): RequestHandler {
  const ring = options.signingRings.get(route.upstream);
  if (route.authenticated && !ring) {
    // loadGatewayConfig requires the ring of every configured upstream; this is a wiring bug.
    throw new Error(`no token_keys_${SERVICE}_${route.upstream} ring for a configured upstream`);
  }
  return (req, res, next) => {
    setForwardHeaders(req, res, {
      forwardCredentials: route.upstream === 'auth',
      // Minted per call, for this upstream only: a token captured at one service is useless at another.
      userToken:
        route.authenticated && ring
          ? mintUserToken({ issuer: SERVICE, audience: route.upstream, uid: sessionUidOf(res), ring })
          : undefined,
    });
    next();
  };
}

function proxyFor(route: UpstreamRoute, url: string, options: UpstreamsRouterOptions): RequestHandler {
  return createUpstreamProxy({
    upstream: route.upstream,
    target: url,
    agent: options.agents.forUrl(url),
    logger: options.logger,
    timeoutMs: route.streaming ? undefined : options.timeoutMs,
    rewritePath: route.rewritePath,
    allowSetCookie: route.upstream === 'auth',
    streaming: route.streaming ?? false,
  });
}
