export { createTestDatabase, createEmptyDatabase, withAdminSql, connectAdmin, type TestDatabase } from './postgres';
export { createTestRedis, type TestRedis } from './redis';
export { HARNESS } from './harness-env';
