import { createService } from '@tenantmesh/http-kit';
import { requireUser } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { sql } from 'kysely';
import { SERVICE, tokenKeyPlan } from './config';
import type { FilesDeps } from './deps';
import { objectsRouter } from './routes/objects/objects-router';

/** Pure: everything arrives in deps; no env, no listening. */
export function buildApp(deps: FilesDeps): Express {
  return createService(
    {
      name: SERVICE,
      logger: deps.logger,
      metrics: deps.metrics,
      rawBodyPaths: ['/objects'],
      readiness: {
        postgres: () => sql`select 1`.execute(deps.database.db),
        storage: () => deps.store.check(),
      },
    },
    (app) => {
      app.use(
        '/objects',
        requireUser({ audience: SERVICE, trustedIssuers: tokenKeyPlan.trustedIssuers, keys: deps.keys }),
      );
      app.use('/objects', objectsRouter(deps));
    },
  );
}
