import fs from 'node:fs';
import path from 'node:path';
import type { KeyRing } from '@tenantmesh/config';
import { type Database, openServiceDatabase } from '@tenantmesh/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@tenantmesh/observability';
import { MemorySessionCache, RedisSessionCache, SessionService } from '@tenantmesh/sessions';
import { tokenKeysFrom, watchTokenKeys } from '@tenantmesh/user-token';
import Redis from 'ioredis';
import { type GatewayConfig, SERVICE } from './config';
import type { SessionResolver } from './middleware/require-session';
import { createUpstreamAgents, type UpstreamAgents } from './proxy/upstream-agents';
import { type SecurityTxt, securityTxtFrom } from './routes/security-txt/security-txt';
import type { Upstream } from './settings/upstream-settings';

export interface GatewayDeps {
  bodyLimit?: string;
  logger: Logger;
  metrics: Metrics;
  /** The DML-only runtime pool: sessions are looked up through it. */
  database: Database;
  sessions: SessionResolver;
  upstreams: {
    urls: Partial<Record<Upstream, string>>;
    timeoutMs: number;
    /** gateway→<upstream> rings, keyed by upstream. */
    signingRings: ReadonlyMap<string, KeyRing>;
    agents: UpstreamAgents;
  };
  rateLimit: {
    perMinute: number;
    authPerMinute: number;
    /** Counters shared by every replica; per process without it. Also checked by /readyz. */
    redis?: Redis;
    redisPrefix?: string;
  };
  edge: { publicOrigin: string; trustProxyHops: number };
  securityTxt: SecurityTxt;
  /** The built web client served at `/`; none without it. */
  webRoot?: string;
}

/** Opens everything main.ts needs: migrates as the owner, then connects as the runtime role. */
export async function connectGatewayDeps(
  config: GatewayConfig,
): Promise<GatewayDeps & { close(): Promise<void> }> {
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
  const redis = config.redis.url
    ? new Redis(config.redis.url, {
        password: config.secrets.redisPassword,
        // Fail a request fast while Redis is away rather than queue it for a minute.
        maxRetriesPerRequest: 2,
      })
    : undefined;
  redis?.on('error', (error) => logger.warn('redis error', { err: error }));

  const cookieRing = config.secrets.cookieKeys;
  const sessions = new SessionService(
    database.db,
    redis ? new RedisSessionCache(redis) : new MemorySessionCache(),
    cookieRing,
    config.sessions,
  );
  const keys = tokenKeysFrom(config.secrets, config.tokenKeyPlan);
  const stopWatching = watchTokenKeys(keys, config.observability.secretReloadIntervalMs);
  cookieRing.watch(config.observability.secretReloadIntervalMs);
  const agents = createUpstreamAgents();

  const webRoot = config.web.root;
  if (webRoot && !fs.existsSync(path.join(webRoot, 'index.html'))) {
    logger.warn('no web client to serve: run `pnpm build` (or set WEB_ROOT)', { webRoot });
  }

  const urls = Object.fromEntries(
    Object.entries(config.upstreams.urls).filter(([, url]) => url !== undefined),
  ) as Partial<Record<Upstream, string>>;
  return {
    bodyLimit: config.http.bodyLimit,
    logger,
    metrics,
    database,
    sessions,
    upstreams: { urls, timeoutMs: config.upstreams.timeoutMs, signingRings: keys.signing, agents },
    rateLimit: {
      perMinute: config.rateLimit.perMinute,
      authPerMinute: config.rateLimit.authPerMinute,
      redis,
    },
    edge: config.edge,
    securityTxt: securityTxtFrom(config.securityTxt, config.edge.publicOrigin),
    webRoot,
    close: async () => {
      stopWatching();
      cookieRing.stop();
      agents.destroy();
      await redis?.quit().catch(() => redis.disconnect());
      await database.close();
    },
  };
}
