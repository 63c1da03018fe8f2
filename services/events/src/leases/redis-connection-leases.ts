import type Redis from 'ioredis';
import {
  type ConnectionLeases,
  checkCap,
  checkLeaseArgs,
  checkTtl,
  type LeaseResult,
} from './connection-leases';

// Every script reads the clock with TIME, so all replicas use Redis's clock, never their own.
// A member is live while its score (expiry, ms) is > now. The key's own expiry is kept at the
// latest lease's, so the set of a user whose replicas all died disappears by itself.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
const EXPIRE_WITH_LAST_LEASE = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, tonumber(last[2]) - now)))
end
`;

/** KEYS[1] = set; ARGV = id, cap, ttlMs. Returns {1} or {0, retryAfterMs}. */
const ACQUIRE = `${NOW}
local id, cap, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZCARD', KEYS[1]) < cap then
  redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), id)
  ${EXPIRE_WITH_LAST_LEASE}
  return {1}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = ttl
if first[2] then wait = tonumber(first[2]) - now end
return {0, math.max(1, wait)}
`;

/** KEYS[1] = set; ARGV = id, ttlMs. Returns 1 when the live lease was extended, else 0. */
const RENEW = `${NOW}
local id, ttl = ARGV[1], tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), id)
${EXPIRE_WITH_LAST_LEASE}
return 1
`;

/** KEYS[1] = set. Live leases. */
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%d', now), '+inf')
`;

interface LeaseCommands {
  tmSseLeaseAcquire(key: string, id: string, cap: number, ttlMs: number): Promise<[number, number?]>;
  tmSseLeaseRenew(key: string, id: string, ttlMs: number): Promise<number>;
  tmSseLeaseCount(key: string): Promise<number>;
}

/**
 * Leases in Redis, shared by every replica: a sorted set per user (`sse:leases:<uid>` under the
 * client's keyPrefix), member = connection id, score = expiry on Redis's clock. The client is the
 * caller's; close() does not quit it.
 */
export function createRedisLeases(redis: Redis): ConnectionLeases {
  redis.defineCommand('tmSseLeaseAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  redis.defineCommand('tmSseLeaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('tmSseLeaseCount', { numberOfKeys: 1, lua: COUNT, readOnly: true });
  const commands = redis as unknown as LeaseCommands;
  const keyOf = (uid: string) => `sse:leases:${uid}`;
  let closed = false;

  const check = (uid: string, id?: string) => checkLeaseArgs(closed, uid, id);

  return {
    async acquire(uid, id, { cap, ttlMs }): Promise<LeaseResult> {
      check(uid, id);
      const [ok, retryAfterMs] = await commands.tmSseLeaseAcquire(
        keyOf(uid),
        id,
        checkCap(cap),
        checkTtl(ttlMs),
      );
      return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: retryAfterMs ?? 1 };
    },

    async renew(uid, id, ttlMs) {
      check(uid, id);
      return (await commands.tmSseLeaseRenew(keyOf(uid), id, checkTtl(ttlMs))) === 1;
    },

    async release(uid, id) {
      check(uid, id);
      await redis.zrem(keyOf(uid), id);
    },

    async count(uid) {
      check(uid);
      return commands.tmSseLeaseCount(keyOf(uid));
    },

    async close() {
      closed = true;
    },
  };
}
