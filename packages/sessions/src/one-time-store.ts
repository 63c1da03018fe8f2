import type Redis from 'ioredis';

/**
 * A value that can be taken exactly once (OAuth state). Redis GETDEL makes "take" atomic across
 * replicas, so a replayed callback finds nothing even if it reaches another auth replica.
 */
export interface OneTimeStore {
  put(key: string, value: string, ttlMs: number): Promise<void>;
  take(key: string): Promise<string | undefined>;
}

export class RedisOneTimeStore implements OneTimeStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'tm:once:',
  ) {}

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
  }

  async take(key: string): Promise<string | undefined> {
    return (await this.redis.getdel(this.prefix + key)) ?? undefined;
  }
}

export class MemoryOneTimeStore implements OneTimeStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async take(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry.value : undefined;
  }
}
