import { errors, sendProblem } from '@tenantmesh/http-kit';
import type { Logger } from '@tenantmesh/observability';
import { type RateLimitRequestHandler, rateLimit, type Store } from 'express-rate-limit';
import type Redis from 'ioredis';
import { type RedisReply, RedisStore } from 'rate-limit-redis';

export interface RateLimiterOptions {
  /** The policy name in the RateLimit headers, and part of the Redis key. */
  name: string;
  perMinute: number;
  logger: Logger;
  /** Shared counters across every gateway replica; without it, counters are per process. */
  redis?: Redis;
  /** Redis key prefix; each limiter adds `rl:<name>:`. */
  redisPrefix?: string;
}

/**
 * A per-IP limiter (IPv6 grouped by /56, since one subscriber usually holds a whole prefix) with
 * the IETF RateLimit headers (draft-8) and a problem+json 429 carrying Retry-After.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimitRequestHandler {
  const { logger } = options;
  return rateLimit({
    windowMs: 60_000,
    limit: options.perMinute,
    identifier: options.name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    ipv6Subnet: 56,
    store: options.redis
      ? redisStore(options.redis, `${options.redisPrefix ?? 'tm:'}rl:${options.name}:`)
      : undefined,
    // Redis down must not take every route down with it: the edge still limits per IP, and
    // /readyz reports Redis so the replica is taken out of rotation.
    passOnStoreError: true,
    handler: (_req, res) => {
      // The library has just set Retry-After for this window; the problem document repeats it.
      const seconds = Number(res.getHeader('Retry-After'));
      sendProblem(res, errors.rateLimited(Number.isFinite(seconds) && seconds > 0 ? seconds : 60));
    },
    logger: {
      error: (error, message) => logger.error(message ?? 'rate limiter error', { err: error }),
      warn: (error, message) => logger.warn(message ?? 'rate limiter warning', { err: error }),
    },
  });
}

function redisStore(redis: Redis, prefix: string): Store {
  return new RedisStore({
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    prefix,
  });
}
