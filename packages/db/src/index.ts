export { type BootstrapOptions, bootstrapDatabase, ensureRoles, secureDatabase } from './bootstrap';
export { type ConnectOptions, connectDatabase, connectSql, type Database } from './connect';
export { ACCOUNT_PURGE_JOB, enqueueAccountPurge } from './enqueue-account-purge';
export { MIGRATIONS_DIR, type MigrateResult, type Migration, readMigrations, runMigrations } from './migrate';
export { type DatabaseSettings, openServiceDatabase } from './open-service-database';
export { DEFAULT_RUNTIME_LOGIN, OWNER_ROLE, RUNTIME_GROUP_ROLE } from './roles';
export type {
  DB,
  JobState,
  JobsTable,
  NotebooksTable,
  NotesTable,
  SessionsTable,
  UserSessionsTable,
} from './schema';
export { databaseSecrets, databaseSettings } from './settings';
export { withTenant } from './with-tenant';
