import { createService } from '@tenantmesh/http-kit';
import { requireUser } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { sql } from 'kysely';
import { SERVICE, tokenKeyPlan } from './config';
import type { AuthDeps } from './deps';
import { meRouter } from './routes/me/me-router';
import { signInRouter } from './routes/sign-in/sign-in-router';

/** Pure: everything arrives in deps. /auth/* is public (sign-in); /api/me needs a gateway token. */
export function buildApp(deps: AuthDeps): Express {
  const readiness: Record<string, () => Promise<unknown>> = {
    postgres: () => sql`select 1`.execute(deps.database.db),
  };
  if (deps.redis) readiness.redis = () => deps.redis!.ping();
  return createService(
    { name: SERVICE, logger: deps.logger, metrics: deps.metrics, bodyLimit: deps.bodyLimit, readiness },
    (app) => {
      app.use('/auth', signInRouter(deps));
      app.use(
        '/api/me',
        requireUser({ audience: SERVICE, trustedIssuers: tokenKeyPlan.trustedIssuers, keys: deps.keys }),
      );
      app.use('/api/me', meRouter(deps));
    },
  );
}
