import Redis from 'ioredis';
import { HARNESS, testDatabasePrefix, testRedisPrefix } from './harness-env';
import { connectAdmin } from './postgres';
import { takeHarnessState } from './state';

/**
 * Drops what globalSetup made, then fails the run if any test left a database or Redis keys
 * behind: a test that does not clean up after itself is a failing test.
 */
export default async function globalTeardown(): Promise<void> {
  const state = takeHarnessState();
  if (!state) return; // another project's teardown already ran
  const leaks: string[] = [];
  try {
    const admin = connectAdmin(process.env[HARNESS.adminUrl]!);
    try {
      const left = await admin<{ datname: string }[]>`
        select datname from pg_database where datname like ${`${testDatabasePrefix(state.runId)}%`}`;
      for (const { datname } of left) {
        leaks.push(`database ${datname}`);
        await admin.unsafe(`drop database if exists ${datname} with (force)`);
      }
    } finally {
      await admin.end();
    }
    if (!process.env[HARNESS.redisProblem]) {
      const redis = new Redis(process.env[HARNESS.redisUrl]!);
      try {
        let cursor = '0';
        let count = 0;
        do {
          const [next, keys] = await redis.scan(
            cursor,
            'MATCH',
            `${testRedisPrefix(state.runId)}*`,
            'COUNT',
            1000,
          );
          cursor = next;
          count += keys.length;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
        if (count) leaks.push(`${count} Redis keys under ${testRedisPrefix(state.runId)}`);
      } finally {
        redis.disconnect();
      }
    }
  } finally {
    for (const cleanup of state.cleanups.reverse()) await cleanup();
  }
  if (leaks.length) {
    throw new Error(
      `tests left resources behind (each test must close its pools and drop what it made): ${leaks.join(', ')}`,
    );
  }
}
