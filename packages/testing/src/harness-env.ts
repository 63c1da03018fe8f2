/**
 * What globalSetup found or started, handed to the test workers through environment variables
 * (workers are forked after globalSetup and inherit them).
 */
export const HARNESS = {
  ready: 'TM_TEST_HARNESS',
  runId: 'TM_TEST_RUN_ID',
  adminUrl: 'TEST_DATABASE_URL',
  templateDb: 'TM_TEST_TEMPLATE_DB',
  redisUrl: 'REDIS_URL',
  redisProblem: 'TM_TEST_REDIS_PROBLEM',
} as const;

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export function harnessValue(name: keyof typeof HARNESS): string {
  const value = process.env[HARNESS[name]];
  if (!value) {
    throw new Error(
      `test harness: ${HARNESS[name]} is not set — run tests through jest with the repository's jest config (its globalSetup prepares PostgreSQL and Redis)`,
    );
  }
  return value;
}

/** Test databases and keys carry the run id, so teardown can find what this run left behind. */
export const testDatabasePrefix = (runId: string) => `tm_test_${runId}_`;
export const testRedisPrefix = (runId: string) => `tmtest:${runId}:`;
