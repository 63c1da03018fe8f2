import { type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import { type TokenKeys, tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import { type NotesConfig, SERVICE, tokenKeyPlan } from './config';

export interface NotesDeps {
  bodyLimit?: string;
  logger: Logger;
  metrics: Metrics;
  /** The DML-only runtime pool. */
  database: Database;
  keys: TokenKeys;
}

/** Opens everything main.ts needs: migrates as the owner, then connects as the runtime role. */
export async function connectNotesDeps(config: NotesConfig): Promise<NotesDeps & { close(): Promise<void> }> {
  const logger = createLogger({
    service: SERVICE,
    level: config.observability.logLevel,
    format: config.observability.logFormat,
  });
  const metrics = createMetrics({ service: SERVICE });
  const database = await openServiceDatabase(config.db, config.secrets, {
    service: SERVICE,
    onMigrated: (result) => logger.info('migrations done', result),
  });
  const keys = tokenKeysFrom(config.secrets, tokenKeyPlan);
  const stopWatching = watchTokenKeys(keys, config.observability.secretReloadIntervalMs);
  return {
    bodyLimit: config.http.bodyLimit,
    logger,
    metrics,
    database,
    keys,
    close: async () => {
      stopWatching();
      await database.close();
    },
  };
}
