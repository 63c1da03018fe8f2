import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  connectSql,
  DEFAULT_RUNTIME_LOGIN,
  ensureRoles,
  OWNER_ROLE,
  runMigrations,
  secureDatabase,
} from '@tenantmesh/db';
import { freePort, isListening, startEmbeddedPostgres, startRedisServer } from '@tenantmesh/devstack';
import Redis from 'ioredis';
import { DEFAULT_TEST_DATABASE_URL, DEFAULT_TEST_REDIS_URL, HARNESS } from './harness-env';
import { connectAdmin } from './postgres';
import { type HarnessState, setHarnessState } from './state';

/**
 * Runs once per jest run, before any worker starts:
 *  1. PostgreSQL at TEST_DATABASE_URL (default 127.0.0.1:5432); if nothing answers, embedded Postgres.
 *  2. The roles, and one template database migrated by the owner role; test files clone it.
 *  3. Redis at REDIS_URL (default 127.0.0.1:6379); if nothing answers, `redis-server` from PATH
 *     on a free port; if there is none, Redis suites fail with a message saying how to get it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env[HARNESS.ready]) return; // another project of this jest run already did it
  const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const state: HarnessState = { runId, cleanups: [] };
  setHarnessState(state);
  process.env[HARNESS.runId] = runId;

  try {
    const adminUrl = await ensurePostgres(state);
    process.env[HARNESS.adminUrl] = adminUrl;
    process.env[HARNESS.templateDb] = await createTemplate(adminUrl, runId, state);
    await ensureRedis(state);
  } catch (error) {
    // jest skips globalTeardown when setup fails: undo what was started here.
    for (const cleanup of state.cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
  process.env[HARNESS.ready] = '1';
}

async function ensurePostgres(state: HarnessState): Promise<string> {
  const configured = process.env[HARNESS.adminUrl] || DEFAULT_TEST_DATABASE_URL;
  const url = new URL(configured);
  if (await isListening(url.hostname, Number(url.port || 5432))) return configured;
  log(`no PostgreSQL at ${url.hostname}:${url.port || 5432}; starting embedded PostgreSQL for this run`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-test-pg-'));
  fs.chmodSync(dataDir, 0o755);
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'data'),
    port: await freePort(),
    superuserPassword: randomBytes(12).toString('hex'),
    persistent: false,
    trustLocalhost: true,
  });
  state.cleanups.push(async () => {
    await pg.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return pg.adminUrl;
}

async function createTemplate(adminUrl: string, runId: string, state: HarnessState): Promise<string> {
  const template = `tm_tpl_${runId}`;
  const admin = connectAdmin(adminUrl);
  try {
    await ensureRoles(admin, { runtimeLogin: DEFAULT_RUNTIME_LOGIN });
    await admin.unsafe(`create database ${template} owner ${OWNER_ROLE}`);
    await secureDatabase(admin, template, DEFAULT_RUNTIME_LOGIN);
  } finally {
    await admin.end();
  }
  state.cleanups.push(async () => {
    const sql = connectAdmin(adminUrl);
    try {
      await sql.unsafe(`drop database if exists ${template} with (force)`);
    } finally {
      await sql.end();
    }
  });
  const u = new URL(adminUrl);
  const owner = connectSql({
    url: `postgres://${u.hostname}:${u.port || 5432}/${template}`,
    user: OWNER_ROLE,
    max: 1,
  });
  try {
    await runMigrations(owner);
  } finally {
    await owner.end();
  }
  return template;
}

async function ensureRedis(state: HarnessState): Promise<void> {
  const configured = process.env[HARNESS.redisUrl] || DEFAULT_TEST_REDIS_URL;
  if (await redisAnswers(configured)) {
    process.env[HARNESS.redisUrl] = configured;
    return;
  }
  const port = await freePort();
  const started = await startRedisServer(port);
  if (!started.ok) {
    process.env[HARNESS.redisProblem] =
      `No Redis answered at ${configured} and ${started.reason}. Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or point REDIS_URL at a running server.`;
    log(process.env[HARNESS.redisProblem]!);
    return;
  }
  log(`no Redis at ${configured}; started redis-server on port ${port} for this run`);
  state.cleanups.push(started.stop);
  process.env[HARNESS.redisUrl] = `redis://127.0.0.1:${port}`;
}

async function redisAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  if (!(await isListening(u.hostname, Number(u.port || 6379)))) return false;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function log(message: string): void {
  process.stderr.write(`[test harness] ${message}\n`);
}
