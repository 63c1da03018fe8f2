import { type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import { SESSION_REVOKED_CHANNEL } from '@tenantmesh/sessions';
import { type TokenKeys, tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import Redis from 'ioredis';
import { type EventsConfig, SERVICE, type StreamSettings, tokenKeyPlan } from './config';
import { pruneEvents } from './db/queries/prune-events';
import { StreamRegistry } from './domain/stream-registry';
import { createEventsMetrics, type EventsMetrics } from './events-metrics';
import type { EventFanout } from './fanout/event-fanout';
import { createMemoryFanout } from './fanout/memory-event-fanout';
import { createRedisFanout } from './fanout/redis-event-fanout';
import type { ConnectionLeases } from './leases/connection-leases';
import { createMemoryLeases } from './leases/memory-connection-leases';
import { createRedisLeases } from './leases/redis-connection-leases';

export interface EventsDeps {
  logger: Logger;
  metrics: Metrics;
  eventsMetrics: EventsMetrics;
  /** The DML-only runtime pool. */
  database: Database;
  keys: TokenKeys;
  fanout: EventFanout;
  leases: ConnectionLeases;
  registry: StreamRegistry;
  settings: StreamSettings;
  /** Readiness of Redis when one is configured. */
  redisPing?: () => Promise<unknown>;
}

/** Wires the shared state: Redis across replicas, or in-process on a single node. */
export function sharedState(
  redis: { client: Redis; subscriber: Redis; channelPrefix: string } | undefined,
  logger: Logger,
  eventsMetrics: EventsMetrics,
) {
  if (!redis) return { fanout: createMemoryFanout(), leases: createMemoryLeases() };
  return {
    fanout: createRedisFanout({
      publisher: redis.client,
      subscriber: redis.subscriber,
      channelPrefix: redis.channelPrefix,
      onMalformed: () => {
        eventsMetrics.dropped.inc({ reason: 'malformed' });
        logger.warn('malformed fan-out message dropped');
      },
    }),
    leases: createRedisLeases(redis.client),
  };
}

/**
 * Background work every replica does: closing a user's streams when one of their sessions is
 * revoked (any replica of auth, via PostgreSQL NOTIFY, which needs no Redis), and pruning events
 * older than the retention window. Returns a stopper.
 */
export async function startBackgroundWork(deps: EventsDeps): Promise<() => Promise<void>> {
  const { logger, registry, settings } = deps;
  const listener = await deps.database.sql.listen(SESSION_REVOKED_CHANNEL, (uid) => {
    const closed = registry.closeUser(uid, 'session revoked');
    if (closed > 0) logger.info('closed streams of a revoked session', { uid, closed });
  });
  let pruning: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    pruning = pruning.then(async () => {
      try {
        let deleted = 0;
        for (;;) {
          const batch = await pruneEvents(deps.database.db, {
            olderThanHours: settings.retentionHours,
            limit: 10_000,
          });
          deleted += batch;
          if (batch < 10_000) break;
        }
        if (deleted > 0) logger.info('pruned events past retention', { deleted });
      } catch (error) {
        logger.warn('pruning events failed; will retry', { err: error });
      }
    });
  }, settings.pruneIntervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await pruning;
    // The connection may already be gone (the database stopping first); nothing is left to undo.
    await listener.unlisten().catch(() => undefined);
  };
}

/** Opens everything main.ts needs: migrates as the owner, then connects as the runtime role. */
export async function connectEventsDeps(
  config: EventsConfig,
): Promise<EventsDeps & { close(): Promise<void> }> {
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
  const redisOptions = { password: config.secrets.redisPassword, maxRetriesPerRequest: 2 };
  const prefix = config.streams.redisPrefix;
  const redis = config.redis.url
    ? {
        client: new Redis(config.redis.url, { ...redisOptions, keyPrefix: prefix }),
        subscriber: new Redis(config.redis.url, redisOptions),
        channelPrefix: prefix,
      }
    : undefined;
  redis?.client.on('error', (error) => logger.warn('redis error', { err: error }));
  redis?.subscriber.on('error', (error) => logger.warn('redis subscriber error', { err: error }));
  const keys = tokenKeysFrom(config.secrets, tokenKeyPlan);
  const stopWatching = watchTokenKeys(keys, config.observability.secretReloadIntervalMs);
  const eventsMetrics = createEventsMetrics(metrics, config.streams.maxStreams);
  const deps: EventsDeps = {
    logger,
    metrics,
    eventsMetrics,
    database,
    keys,
    ...sharedState(redis, logger, eventsMetrics),
    registry: new StreamRegistry(eventsMetrics),
    settings: config.streams,
    redisPing: redis ? () => redis.client.ping() : undefined,
  };
  const stopBackground = await startBackgroundWork(deps);
  return {
    ...deps,
    close: async () => {
      await stopBackground();
      stopWatching();
      await deps.fanout.close();
      await deps.leases.close();
      await Promise.all([redis?.client.quit(), redis?.subscriber.quit()]);
      await database.close();
    },
  };
}
