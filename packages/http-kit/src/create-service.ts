import type { Logger, Metrics } from '@tenantmesh/observability';
import express, { type Express, type Request } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { healthRoutes, type ReadinessCheck } from './health';
import { errorHandler, notFoundHandler } from './problem';
import { requestId } from './request-id';

export interface ServiceOptions {
  name: string;
  logger: Logger;
  metrics: Metrics;
  /** JSON body limit, e.g. '100kb'. Larger bodies get 413 payload_too_large. */
  bodyLimit?: string;
  readiness?: Record<string, ReadinessCheck>;
  /**
   * Security-header settings for a service that serves browsers (the gateway). Omitted, helmet's
   * defaults apply, which suit an internal JSON API.
   */
  helmet?: HelmetOptions;
  /**
   * Path prefixes whose request bodies are streams, never parsed: uploads of any type and size
   * (an uploaded `.json` file must not be parsed and size-limited as an API body).
   */
  rawBodyPaths?: readonly string[];
}

/**
 * The frame every service shares, in order: security headers, request id, metrics, access log,
 * JSON body parsing, /healthz /readyz /metrics, then the service's own routes (`mount`), then
 * 404 and the one problem+json error renderer. Pure: no listening, no env.
 */
export function createService(options: ServiceOptions, mount: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(helmet(options.helmet));
  app.use(requestId());
  app.use(options.metrics.httpMiddleware());
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      options.logger.http('request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      });
    });
    next();
  });
  const rawBodyPaths = options.rawBodyPaths ?? [];
  const isRaw = (path: string) =>
    rawBodyPaths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  app.use(
    express.json({
      limit: options.bodyLimit ?? '100kb',
      type: (req) => !isRaw((req as Request).path) && Boolean((req as Request).is('application/json')),
    }),
  );
  app.use(healthRoutes(options.readiness ?? {}));
  app.get('/metrics', options.metrics.metricsHandler());
  mount(app);
  app.use(notFoundHandler());
  app.use(errorHandler(options.logger));
  return app;
}
