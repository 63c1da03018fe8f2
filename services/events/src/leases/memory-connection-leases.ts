import {
  type ConnectionLeases,
  checkCap,
  checkLeaseArgs,
  checkTtl,
  type LeaseResult,
} from './connection-leases';

/**
 * Leases for a single node (no REDIS_URL): per user, connection id → expiry (ms on `now`).
 * Same rules as the Redis one: live while expiry > now, expired ones dropped as they are met.
 */
export function createMemoryLeases(now: () => number = Date.now): ConnectionLeases {
  const users = new Map<string, Map<string, number>>();
  let closed = false;

  const check = (uid: string, id?: string) => checkLeaseArgs(closed, uid, id);

  /** The live leases of `uid` (expired ones removed), and the time they were judged at. */
  const live = (uid: string) => {
    const at = now();
    const leases = users.get(uid);
    if (leases) {
      for (const [id, expiry] of leases) if (expiry <= at) leases.delete(id);
      if (leases.size === 0) users.delete(uid);
    }
    return { at, leases: leases && leases.size > 0 ? leases : undefined };
  };

  return {
    async acquire(uid, id, { cap, ttlMs }): Promise<LeaseResult> {
      check(uid, id);
      const max = checkCap(cap);
      const ttl = checkTtl(ttlMs);
      const { at, leases } = live(uid);
      if (!leases) {
        users.set(uid, new Map([[id, at + ttl]]));
        return { ok: true };
      }
      if (leases.has(id) || leases.size < max) {
        leases.set(id, at + ttl);
        return { ok: true };
      }
      const earliest = Math.min(...leases.values());
      return { ok: false, retryAfterMs: Math.max(1, earliest - at) };
    },

    async renew(uid, id, ttlMs) {
      check(uid, id);
      const ttl = checkTtl(ttlMs);
      const { at, leases } = live(uid);
      if (!leases?.has(id)) return false;
      leases.set(id, at + ttl);
      return true;
    },

    async release(uid, id) {
      check(uid, id);
      const leases = users.get(uid);
      leases?.delete(id);
      if (leases?.size === 0) users.delete(uid);
    },

    async count(uid) {
      check(uid);
      return live(uid).leases?.size ?? 0;
    },

    async close() {
      closed = true;
      users.clear();
    },
  };
}
