import type { KeyRing } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createMetrics } from '@tenantmesh/observability';
// The real notes service, by path: @tenantmesh/notes is not a dependency of the gateway.
import { buildApp as buildNotesApp } from '../../../notes/src/app';
import { listenOn, quietLogger } from './gateway-harness';

/** The reference service, listening on a free port, verifying gateway→notes tokens with `ring`. */
export function startNotes(database: Database, ring: KeyRing) {
  const app = buildNotesApp({
    logger: quietLogger('notes'),
    metrics: createMetrics({ service: 'notes' }),
    database,
    keys: { signing: new Map(), verifying: new Map([['gateway', ring]]) },
  });
  return listenOn(app);
}
