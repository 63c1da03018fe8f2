import type Redis from 'ioredis';

export interface CachedSession {
  sessionId: string;
  uid: string;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  lastSeenAt: number;
}

/**
 * Where resolved sessions are cached, keyed by token hash (hex). Shared across gateway replicas
 * through Redis, so a delete (logout) takes effect on all of them at once. The in-process version
 * is for a single node with no Redis.
 */
export interface SessionCache {
  get(hash: string): Promise<CachedSession | undefined>;
  set(hash: string, session: CachedSession, ttlMs: number): Promise<void>;
  delete(hash: string): Promise<void>;
}

export class RedisSessionCache implements SessionCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'tm:sess:',
  ) {}

  async get(hash: string): Promise<CachedSession | undefined> {
    const raw = await this.redis.get(this.prefix + hash);
    return raw ? (JSON.parse(raw) as CachedSession) : undefined;
  }

  async set(hash: string, session: CachedSession, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.redis.set(this.prefix + hash, JSON.stringify(session), 'PX', Math.ceil(ttlMs));
  }

  async delete(hash: string): Promise<void> {
    await this.redis.del(this.prefix + hash);
  }
}

export class MemorySessionCache implements SessionCache {
  private readonly entries = new Map<string, { session: CachedSession; expiresAt: number }>();

  async get(hash: string): Promise<CachedSession | undefined> {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.session;
  }

  async set(hash: string, session: CachedSession, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    if (this.entries.size >= 10_000) this.sweep();
    this.entries.set(hash, { session, expiresAt: Date.now() + ttlMs });
  }

  async delete(hash: string): Promise<void> {
    this.entries.delete(hash);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [hash, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(hash);
  }
}
