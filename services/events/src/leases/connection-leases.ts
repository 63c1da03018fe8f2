export type LeaseResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Per-user stream slots shared by every replica. A slot is a lease that expires unless renewed,
 * so the slots of a replica that dies (kill -9) come back after `ttlMs` without anyone cleaning
 * up. Redis (a sorted set per user, scored by expiry on Redis's own clock) across replicas, or
 * in-process when no REDIS_URL is configured.
 */
export interface ConnectionLeases {
  /**
   * Takes one of `cap` slots of `uid` for connection `id`, for `ttlMs`. When all are taken the
   * newcomer is refused (existing streams win) with the time until the earliest lease expires.
   */
  acquire(uid: string, id: string, options: { cap: number; ttlMs: number }): Promise<LeaseResult>;
  /** Extends a held lease; false when it was lost (expired meanwhile, e.g. after a long pause). */
  renew(uid: string, id: string, ttlMs: number): Promise<boolean>;
  release(uid: string, id: string): Promise<void>;
  /** Live (unexpired) leases of `uid`. */
  count(uid: string): Promise<number>;
  close(): Promise<void>;
}

/** Argument checks both implementations share: a closed store, an empty uid or id are bugs. */
export function checkLeaseArgs(closed: boolean, uid: string, id?: string): void {
  if (closed) throw new Error('ConnectionLeases is closed');
  if (typeof uid !== 'string' || uid === '') throw new TypeError('uid must be a non-empty string');
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    throw new TypeError('id must be a non-empty string');
  }
}

export function checkCap(cap: number): number {
  if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError('cap must be a positive integer');
  return cap;
}

export function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive number');
  return Math.ceil(ttlMs);
}
