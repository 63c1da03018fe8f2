export {
  freePort,
  isListening,
  type LocalIdentity,
  type LocalOAuthProvider,
  startLocalOAuthProvider,
} from '@tenantmesh/devstack';
export { type EventStreamClient, openEventStream, type ReceivedEvent } from './event-stream-client';
export { HARNESS } from './harness-env';
export { lineCollector } from './line-collector';
export {
  connectAdmin,
  createEmptyDatabase,
  createTestDatabase,
  type TestDatabase,
  withAdminSql,
} from './postgres';
export { type PostgresProcess, startPostgresProcess } from './postgres-process';
export { type RecordedRequest, type RecordingServer, startRecordingServer } from './recording-server';
export { createTestRedis, type TestRedis } from './redis';
export { createSecretsDir, type RingEntry, randomKey, type SecretsDir } from './secrets';
export { type ServiceProcess, startServiceProcess } from './service-process';
