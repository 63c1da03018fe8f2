import { type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import {
  MemoryOneTimeStore,
  MemorySessionCache,
  RedisOneTimeStore,
  RedisSessionCache,
  SessionService,
} from '@tenantmesh/sessions';
import { type TokenKeys, tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import Redis from 'ioredis';
import { type AuthConfig, SERVICE, tokenKeyPlan } from './config';
import { createSignInProviders, type SignInProviders } from './sign-in/providers';

export interface AuthDeps {
  logger: Logger;
  metrics: Metrics;
  database: Database;
  keys: TokenKeys;
  sessions: SessionService;
  providers: SignInProviders;
  redis?: Redis;
  afterSignInPath: string;
  accountPurgeDays: number;
  bodyLimit?: string;
}

export async function connectAuthDeps(config: AuthConfig): Promise<AuthDeps & { close(): Promise<void> }> {
  const logger = createLogger({
    service: SERVICE,
    level: config.observability.logLevel,
    format: config.observability.logFormat,
  });
  const database = await openServiceDatabase(config.db, config.secrets, {
    service: SERVICE,
    onMigrated: (result) => logger.info('migrations done', result),
  });
  // Fail a request fast while Redis is away rather than queue it.
  const redis = config.redis.url
    ? new Redis(config.redis.url, { password: config.secrets.redisPassword, maxRetriesPerRequest: 2 })
    : undefined;
  redis?.on('error', (error) => logger.warn('redis error', { err: error }));
  const keys = tokenKeysFrom(config.secrets, tokenKeyPlan);
  const interval = config.observability.secretReloadIntervalMs;
  const stopWatching = watchTokenKeys(keys, interval);
  config.secrets.cookieKeys.watch(interval);
  const sessions = new SessionService(
    database.db,
    redis ? new RedisSessionCache(redis) : new MemorySessionCache(),
    config.secrets.cookieKeys,
    config.sessions,
  );
  const providers = createSignInProviders(
    config.signIn,
    { google: config.secrets.googleClientSecret, oidc: config.secrets.oidcClientSecret },
    redis ? new RedisOneTimeStore(redis) : new MemoryOneTimeStore(),
  );
  return {
    logger,
    metrics: createMetrics({ service: SERVICE }),
    database,
    keys,
    sessions,
    providers,
    redis,
    afterSignInPath: config.signIn.afterSignInPath,
    accountPurgeDays: config.signIn.accountPurgeDays,
    bodyLimit: config.http.bodyLimit,
    close: async () => {
      stopWatching();
      config.secrets.cookieKeys.stop();
      await redis?.quit();
      await database.close();
    },
  };
}
