import type { KeyRing } from '@tenantmesh/config';
import { type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import { type TokenKeys, tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import { type FilesConfig, SERVICE, tokenKeyPlan } from './config';
import { countDataKeysByKid } from './db/queries/count-data-keys-by-kid';
import { startRewrapping } from './domain/rewrap-data-keys';
import { createFilesMetrics, type FilesMetrics } from './files-metrics';
import { createLocalObjectStore, removeStalePartials } from './storage/local-object-store';
import type { ObjectStore } from './storage/object-store';
import { createS3ObjectStore } from './storage/s3-object-store';

const STALE_PARTIAL_MS = 24 * 60 * 60 * 1000;

export interface FilesLimits {
  /** Largest object in bytes (413 payload_too_large above it). Equal to the edge's client_max_body_size. */
  maxObjectBytes: number;
  /** Bytes one user may store in total (413 quota_exceeded above it). */
  quotaBytes: number;
  /** Encryption chunk size for new objects (each object records its own). */
  chunkBytes: number;
}

export interface FilesDeps {
  logger: Logger;
  metrics: Metrics;
  filesMetrics: FilesMetrics;
  /** The DML-only runtime pool. */
  database: Database;
  keys: TokenKeys;
  store: ObjectStore;
  /** files_master_keys: the newest key wraps new data keys; any key in the ring unwraps. */
  masterKeys: KeyRing;
  limits: FilesLimits;
}

export function createFilesMetricsFor(metrics: Metrics, database: Database): FilesMetrics {
  return createFilesMetrics(metrics, () => countDataKeysByKid(database.db));
}

/** Opens everything main.ts needs: migrates as the owner, then connects as the runtime role. */
export async function connectFilesDeps(config: FilesConfig): Promise<FilesDeps & { close(): Promise<void> }> {
  const logger = createLogger({
    service: SERVICE,
    level: config.observability.logLevel,
    format: config.observability.logFormat,
  });
  const metrics = createMetrics({ service: SERVICE });
  const { storage, secrets } = config;
  const store =
    storage.backend === 's3'
      ? createS3ObjectStore({
          ...storage.s3,
          credentials:
            secrets.s3AccessKeyId && secrets.s3SecretAccessKey
              ? { accessKeyId: secrets.s3AccessKeyId, secretAccessKey: secrets.s3SecretAccessKey }
              : undefined,
        })
      : createLocalObjectStore({ root: storage.root });
  if (storage.backend === 'local') {
    // Leftovers of a process killed mid-upload (a failed upload removes its own at once).
    const removed = await removeStalePartials(storage.root, STALE_PARTIAL_MS).catch(() => 0);
    if (removed > 0) logger.info('removed stale partial uploads', { removed });
  }
  const database = await openServiceDatabase(config.db, secrets, {
    service: SERVICE,
    onMigrated: (result) => logger.info('migrations done', result),
  });
  const keys = tokenKeysFrom(secrets, tokenKeyPlan);
  const stopWatching = watchTokenKeys(keys, config.observability.secretReloadIntervalMs);
  secrets.masterKeys.watch(config.observability.secretReloadIntervalMs);
  const deps: FilesDeps = {
    logger,
    metrics,
    filesMetrics: createFilesMetricsFor(metrics, database),
    database,
    keys,
    store,
    masterKeys: secrets.masterKeys,
    limits: {
      maxObjectBytes: storage.maxObjectBytes,
      quotaBytes: storage.quotaBytes,
      chunkBytes: storage.chunkBytes,
    },
  };
  const stopRewrapping = startRewrapping(deps, storage.rewrapIntervalMs);
  return {
    ...deps,
    close: async () => {
      await stopRewrapping();
      stopWatching();
      secrets.masterKeys.stop();
      await store.close();
      await database.close();
    },
  };
}
