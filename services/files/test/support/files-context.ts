import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type KeyRing, loadConfig } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import {
  createSecretsDir,
  createTestDatabase,
  lineCollector,
  randomKey,
  type SecretsDir,
  type TestDatabase,
} from '@tenantmesh/testing';
import { mintUserToken, type TokenKeys, tokenKeySecrets, tokenKeysFrom } from '@tenantmesh/user-token';
import type { Express } from 'express';
import { buildApp } from '../../src/app';
import { filesSecrets, tokenKeyPlan } from '../../src/config';
import { createFilesMetricsFor, type FilesDeps, type FilesLimits } from '../../src/deps';
import { createLocalObjectStore } from '../../src/storage/local-object-store';
import type { ObjectStore } from '../../src/storage/object-store';

export interface FilesContext {
  app: Express;
  deps: FilesDeps;
  testDb: TestDatabase;
  owner: Database;
  secrets: SecretsDir;
  /** The local store's root (every byte the service writes must stay under it). */
  root: string;
  logs: string[];
  newUser(label?: string): Promise<string>;
  tokenFor(uid: string, issuer?: 'gateway' | 'jobs'): string;
  close(): Promise<void>;
}

/**
 * A files app over real parts: a fresh cloned database (runtime role), a temporary local store
 * (or the given one), real key rings in a secrets dir. Nothing mocked.
 */
export async function createFilesContext(
  options: { limits?: Partial<FilesLimits>; store?: (root: string) => ObjectStore } = {},
): Promise<FilesContext> {
  const testDb = await createTestDatabase();
  const owner = testDb.connectOwner();
  const database = testDb.connectRuntime();
  const secrets = createSecretsDir();
  secrets.writeRing('token_keys_gateway_files');
  secrets.writeRing('token_keys_jobs_files');
  secrets.writeRing('files_master_keys', [{ kid: 'm1', key: randomKey() }]);
  const config = loadConfig(
    { SECRETS_DIR: secrets.dir },
    { settings: {}, secrets: { ...tokenKeySecrets(tokenKeyPlan), masterKeys: filesSecrets.masterKeys } },
  );
  const keys: TokenKeys = tokenKeysFrom(config.secrets, tokenKeyPlan);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-files-'));
  const store = options.store
    ? options.store(root)
    : createLocalObjectStore({ root: path.join(root, 'store') });
  const { stream, lines: logs } = lineCollector();
  const logger = createLogger({ service: 'files', level: 'info', stream });
  const metrics = createMetrics({ service: 'files' });
  const deps: FilesDeps = {
    logger,
    metrics,
    filesMetrics: createFilesMetricsFor(metrics, database),
    database,
    keys,
    store,
    masterKeys: config.secrets.masterKeys as KeyRing,
    limits: {
      maxObjectBytes: 8 * 1024 * 1024,
      quotaBytes: 32 * 1024 * 1024,
      chunkBytes: 4096,
      ...options.limits,
    },
  };
  let users = 0;
  return {
    app: buildApp(deps),
    deps,
    testDb,
    owner,
    secrets,
    root,
    logs,
    newUser: async (label = 'user') => {
      users += 1;
      const [row] = await owner.sql<{ id: string }[]>`
        insert into user_sessions (provider, subject) values ('test', ${`${label}-${users}`}) returning id`;
      return row!.id;
    },
    tokenFor: (uid, issuer = 'gateway') =>
      mintUserToken({ issuer, audience: 'files', uid, ring: keys.verifying.get(issuer)! }),
    close: async () => {
      await store.close();
      await database.close();
      await owner.close();
      await testDb.drop();
      secrets.remove();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
