import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface MetricsOptions {
  service: string;
}

export interface Metrics {
  /** This service's registry; services register their own counters and gauges here. */
  registry: Registry;
  /** Times every request, labelled by method, route pattern and status code. Mount before the routes. */
  httpMiddleware(): RequestHandler;
  /** Serves the registry in the Prometheus text format, for GET /metrics. */
  metricsHandler(): RequestHandler;
}

/** Label for requests no route matched (404s, requests rejected by middleware before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Creates a service's metrics on a registry of its own. prom-client's global registry would make two
 * apps in one process (every test file that builds an app) fight over metric names.
 */
export function createMetrics({ service }: MetricsOptions): Metrics {
  const registry = new Registry();
  // A default label rather than a per-metric one, so counters services add later carry it too.
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its response, by route pattern.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });

  return {
    registry,
    httpMiddleware: () => (req, res, next) => {
      const stopTimer = requestDuration.startTimer();
      // The route is only known once routing has run, so label at the end rather than the start.
      res.once('finish', () => {
        stopTimer({ method: req.method, route: routePatternOf(req), status_code: String(res.statusCode) });
      });
      next();
    },
    metricsHandler: () => (_req, res, next) => {
      registry
        .metrics()
        .then((body) => {
          res.set('Content-Type', registry.contentType).send(body);
        })
        .catch(next);
    },
  };
}

/**
 * The pattern of the route that handled the request, e.g. /objects/:uid/*path, never the raw URL: one
 * series per object id would grow Prometheus without bound. Caveat: req.baseUrl is the concrete prefix a
 * router was mounted at, so routers must be mounted on fixed paths (put parameters in the routes).
 */
export function routePatternOf(req: Request): string {
  const routePath: unknown = req.route?.path;
  if (routePath === undefined) return UNMATCHED_ROUTE;
  const pattern = Array.isArray(routePath) ? routePath.map(String).join('|') : String(routePath);
  // A router's root route would otherwise read "/items/" while the request was for "/items".
  if (pattern === '/' && req.baseUrl !== '') return req.baseUrl;
  return `${req.baseUrl}${pattern}`;
}
