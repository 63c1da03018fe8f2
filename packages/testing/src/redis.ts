import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { HARNESS, harnessValue, testRedisPrefix } from './harness-env';

export interface TestRedis {
  url: string;
  /** Every key this test writes should start with it; close() deletes them. */
  prefix: string;
  /** A client whose commands are prefixed with `prefix` (ioredis keyPrefix). */
  client: Redis;
  /** Another connection to the same server (e.g. a subscriber, or a second replica). */
  connect(): Redis;
  close(): Promise<void>;
}

/**
 * Redis for one test file. Fails loudly — never skips — when globalSetup found no Redis and
 * could not start one.
 */
export async function createTestRedis(): Promise<TestRedis> {
  const problem = process.env[HARNESS.redisProblem];
  if (problem) throw new Error(problem);
  const url = harnessValue('redisUrl');
  const prefix = `${testRedisPrefix(harnessValue('runId'))}${randomBytes(4).toString('hex')}:`;
  const opened: Redis[] = [];
  const connect = () => {
    const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
    opened.push(client);
    return client;
  };
  const client = new Redis(url, { keyPrefix: prefix, maxRetriesPerRequest: 2 });
  opened.push(client);
  await client.ping();
  return {
    url,
    prefix,
    client,
    connect,
    close: async () => {
      const cleaner = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await cleaner.del(...keys);
        } while (cursor !== '0');
      } finally {
        // quit() waits for the server to close each connection, so no socket outlives the test.
        await Promise.all(
          [cleaner, ...opened].map((c) =>
            c.status === 'end' ? undefined : c.quit().catch(() => c.disconnect()),
          ),
        );
      }
    },
  };
}
