import { createService } from '@tenantmesh/http-kit';
import { requireUser } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { sql } from 'kysely';
import { SERVICE, tokenKeyPlanFor } from './config';
import type { JobsDeps } from './deps';
import { jobsRouter } from './routes/jobs/jobs-router';

/** Pure: everything arrives in deps; no env, no listening. */
export function buildApp(deps: JobsDeps): Express {
  return createService(
    {
      name: SERVICE,
      logger: deps.logger,
      metrics: deps.metrics,
      readiness: { postgres: () => sql`select 1`.execute(deps.database.db) },
    },
    (app) => {
      if (deps.mode === 'worker') return;
      const { trustedIssuers } = tokenKeyPlanFor(deps.mode);
      app.use('/jobs', requireUser({ audience: SERVICE, trustedIssuers, keys: deps.keys }));
      app.use('/jobs', jobsRouter(deps));
    },
  );
}
