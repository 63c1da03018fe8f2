import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type KeyRing, parseKeyRing, KeyRing as Ring } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createMetrics } from '@tenantmesh/observability';
// The real files service, by path: @tenantmesh/files is not a dependency of the gateway.
import { buildApp as buildFilesApp } from '../../../files/src/app';
import { createFilesMetricsFor } from '../../../files/src/deps';
import { createLocalObjectStore } from '../../../files/src/storage/local-object-store';
import { listenOn, quietLogger } from './gateway-harness';

/** The files service on a free port with a temporary local store, verifying gateway→files tokens with `ring`. */
export async function startFiles(database: Database, ring: KeyRing) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-gw-files-'));
  const ringOf = (name: string) =>
    new Ring(
      name,
      'memory',
      parseKeyRing(
        name,
        'memory',
        JSON.stringify({ keys: [{ kid: 'k1', key: randomBytes(32).toString('base64') }] }),
      ),
    );
  const masterKeys = ringOf('files_master_keys');
  const metrics = createMetrics({ service: 'files' });
  const store = createLocalObjectStore({ root });
  const app = buildFilesApp({
    logger: quietLogger('files'),
    metrics,
    filesMetrics: createFilesMetricsFor(metrics, database),
    database,
    keys: {
      signing: new Map(),
      verifying: new Map([
        ['gateway', ring],
        ['jobs', ringOf('token_keys_jobs_files')],
      ]),
    },
    store,
    masterKeys,
    limits: { maxObjectBytes: 1024 * 1024, quotaBytes: 4 * 1024 * 1024, chunkBytes: 4096 },
  });
  const server = await listenOn(app);
  return {
    ...server,
    root,
    close: async () => {
      await server.close();
      await store.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
