import type { z } from 'zod';
import { connectDatabase, connectSql, type Database } from './connect';
import { type MigrateResult, runMigrations } from './migrate';
import type { databaseSettings } from './settings';

export type DatabaseSettings = z.output<typeof databaseSettings>;

/**
 * What every service does at boot: apply pending migrations as the OWNER role (when
 * DATABASE_MIGRATE_ON_BOOT, under the advisory lock), then open the runtime pool as the DML-only
 * login. The owner connection is closed before the service takes traffic.
 */
export async function openServiceDatabase(
  settings: DatabaseSettings,
  secrets: { dbOwnerPassword?: string; dbRuntimePassword?: string },
  options: { service: string; onMigrated?: (result: MigrateResult) => void },
): Promise<Database> {
  if (settings.migrateOnBoot) {
    const owner = connectSql({
      url: settings.url,
      user: settings.ownerUser,
      password: secrets.dbOwnerPassword,
      max: 1,
      name: `${options.service}-migrate`,
    });
    try {
      options.onMigrated?.(await runMigrations(owner));
    } finally {
      await owner.end();
    }
  }
  return connectDatabase({
    url: settings.url,
    user: settings.runtimeUser,
    password: secrets.dbRuntimePassword,
    max: settings.poolMax,
    name: options.service,
  });
}
