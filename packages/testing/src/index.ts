export { freePort, isListening } from '@tenantmesh/devstack';
export { HARNESS } from './harness-env';
export {
  connectAdmin,
  createEmptyDatabase,
  createTestDatabase,
  type TestDatabase,
  withAdminSql,
} from './postgres';
export { createTestRedis, type TestRedis } from './redis';
export { createSecretsDir, type RingEntry, randomKey, type SecretsDir } from './secrets';
