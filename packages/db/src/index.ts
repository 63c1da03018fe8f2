export { connectDatabase, connectSql, type ConnectOptions, type Database } from './connect';
export { bootstrapDatabase, ensureRoles, secureDatabase, type BootstrapOptions } from './bootstrap';
export { MIGRATIONS_DIR, readMigrations, runMigrations, type Migration, type MigrateResult } from './migrate';
export { OWNER_ROLE, RUNTIME_GROUP_ROLE, DEFAULT_RUNTIME_LOGIN } from './roles';
export type { DB, UserSessionsTable, NotebooksTable, NotesTable } from './schema';
export { databaseSettings, databaseSecrets } from './settings';
export { withTenant } from './with-tenant';
