import { createService } from '@tenantmesh/http-kit';
import { requireUser } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { sql } from 'kysely';
import { SERVICE, tokenKeyPlan } from './config';
import type { EventsDeps } from './deps';
import { eventsRouter } from './routes/events/events-router';

/** Pure: everything arrives in deps; no env, no listening. */
export function buildApp(deps: EventsDeps): Express {
  return createService(
    {
      name: SERVICE,
      logger: deps.logger,
      metrics: deps.metrics,
      readiness: {
        postgres: () => sql`select 1`.execute(deps.database.db),
        ...(deps.redisPing ? { redis: deps.redisPing } : {}),
      },
    },
    (app) => {
      app.use(
        '/events',
        requireUser({ audience: SERVICE, trustedIssuers: tokenKeyPlan.trustedIssuers, keys: deps.keys }),
      );
      app.use('/events', eventsRouter(deps));
    },
  );
}
