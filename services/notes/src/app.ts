import { createService } from '@tenantmesh/http-kit';
import { requireUser } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { sql } from 'kysely';
import { SERVICE, tokenKeyPlan } from './config';
import type { NotesDeps } from './deps';
import { notebooksRouter } from './routes/notebooks/notebooks-router';

/** Pure: everything arrives in deps; no env, no listening. */
export function buildApp(deps: NotesDeps): Express {
  return createService(
    {
      name: SERVICE,
      logger: deps.logger,
      metrics: deps.metrics,
      bodyLimit: deps.bodyLimit,
      readiness: { postgres: () => sql`select 1`.execute(deps.database.db) },
    },
    (app) => {
      app.use(
        '/notebooks',
        requireUser({ audience: SERVICE, trustedIssuers: tokenKeyPlan.trustedIssuers, keys: deps.keys }),
      );
      app.use('/notebooks', notebooksRouter(deps));
    },
  );
}
