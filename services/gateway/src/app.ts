import { createService, type ReadinessCheck } from '@tenantmesh/http-kit';
import type { Express } from 'express';
import { SERVICE } from './config';
import type { GatewayDeps } from './deps';
import { csrfGuard } from './middleware/csrf-guard';
import { createRateLimiter } from './middleware/rate-limiter';
import { refuseAmbiguousPaths } from './middleware/refuse-ambiguous-paths';
import { requireSession } from './middleware/require-session';
import { stripUserToken } from './middleware/strip-user-token';
import { securityTxtRouter } from './routes/security-txt/security-txt-router';
import { upstreamsRouter } from './routes/upstreams/upstreams-router';
import { webClientRouter } from './routes/web-client/web-client-router';
import { GATEWAY_HELMET } from './security-headers';

/** Pure: everything arrives in deps; no env, no listening. */
export function buildApp(deps: GatewayDeps): Express {
  const readiness: Record<string, ReadinessCheck> = {
    postgres: () => deps.database.sql`select 1`,
  };
  const redis = deps.rateLimit.redis;
  if (redis) readiness.redis = () => redis.ping();

  return createService(
    {
      name: SERVICE,
      logger: deps.logger,
      metrics: deps.metrics,
      bodyLimit: deps.bodyLimit,
      // Uploads stream through to the files service untouched, whatever their type or size.
      rawBodyPaths: ['/api/files'],
      readiness,
      helmet: GATEWAY_HELMET,
    },
    (app) => {
      app.set('trust proxy', deps.edge.trustProxyHops);
      // First, before anything can forward the request: only the gateway mints user tokens.
      app.use(stripUserToken());
      app.use(refuseAmbiguousPaths());
      app.use(
        createRateLimiter({ name: 'default', perMinute: deps.rateLimit.perMinute, ...limiterStore(deps) }),
      );
      app.use(
        '/auth',
        createRateLimiter({ name: 'auth', perMinute: deps.rateLimit.authPerMinute, ...limiterStore(deps) }),
      );
      app.use(securityTxtRouter(deps.securityTxt));
      if (deps.webRoot) app.use(webClientRouter(deps.webRoot));
      app.use(['/api', '/auth/logout'], csrfGuard(deps.edge.publicOrigin));
      app.use('/api', requireSession(deps.sessions, deps.logger));
      app.use(
        upstreamsRouter({
          urls: deps.upstreams.urls,
          signingRings: deps.upstreams.signingRings,
          agents: deps.upstreams.agents,
          timeoutMs: deps.upstreams.timeoutMs,
          logger: deps.logger,
        }),
      );
    },
  );
}

function limiterStore(deps: GatewayDeps) {
  return { logger: deps.logger, redis: deps.rateLimit.redis, redisPrefix: deps.rateLimit.redisPrefix };
}
