import type { DB } from '@tenantmesh/db';
import { type Kysely, type Selectable, sql } from 'kysely';

export type JobRow = Selectable<DB['jobs']>;

/**
 * The queue's cross-tenant statements, each one call of a SECURITY DEFINER function
 * (migration 0007): the runtime role cannot touch other users' jobs any other way.
 */
export const queueStore = {
  /** One statement: due queued jobs FOR UPDATE SKIP LOCKED, marked running, attempt counted. */
  async claim(
    db: Kysely<DB>,
    args: { workerId: string; limit: number; types: readonly string[] },
  ): Promise<JobRow[]> {
    const { rows } = await sql<JobRow>`
      select * from jobs_claim(${args.workerId}, ${args.limit}, ${[...args.types]}::text[])`.execute(db);
    return rows;
  },

  async heartbeat(db: Kysely<DB>, workerId: string): Promise<void> {
    await sql`select jobs_heartbeat(${workerId})`.execute(db);
  },

  async heldBy(db: Kysely<DB>, workerId: string): Promise<string[]> {
    const { rows } = await sql<{
      id: string;
    }>`select jobs_held_by as id from jobs_held_by(${workerId})`.execute(db);
    return rows.map((r) => r.id);
  },

  async workerGone(db: Kysely<DB>, workerId: string): Promise<void> {
    await sql`select jobs_worker_gone(${workerId})`.execute(db);
  },

  /**
   * Fenced, for many jobs in one statement: the ids this worker still held and has now settled.
   * A missing id was reaped and taken by another worker, or went with its purged user.
   */
  async succeed(
    db: Kysely<DB>,
    args: { workerId: string; jobs: readonly { id: string; result: unknown }[] },
  ): Promise<Set<string>> {
    if (args.jobs.length === 0) return new Set();
    const ids = args.jobs.map((j) => j.id);
    const results = args.jobs.map((j) => JSON.stringify(j.result ?? null));
    const { rows } = await sql<{ id: string }>`
      select jobs_succeed as id from jobs_succeed(${args.workerId}, ${ids}::uuid[], cast(${results} as text[])::jsonb[])`.execute(
      db,
    );
    return new Set(rows.map((r) => r.id));
  },

  /** Fenced; the new state (queued or dead), or undefined when this worker no longer holds the job. */
  async fail(
    db: Kysely<DB>,
    args: { id: string; workerId: string; error: string; retryAt: Date },
  ): Promise<'queued' | 'dead' | undefined> {
    const { rows } = await sql<{ state: 'queued' | 'dead' | null }>`
      select jobs_fail(${args.id}, ${args.workerId}, ${args.error}, ${args.retryAt}) as state`.execute(db);
    return rows[0]?.state ?? undefined;
  },

  /** Fenced: puts jobs this worker holds back in the queue, the attempt not counted; the ids released. */
  async release(db: Kysely<DB>, args: { workerId: string; ids: readonly string[] }): Promise<Set<string>> {
    if (args.ids.length === 0) return new Set();
    const { rows } = await sql<{ id: string }>`
      select jobs_release as id from jobs_release(${args.workerId}, ${[...args.ids]}::uuid[])`.execute(db);
    return new Set(rows.map((r) => r.id));
  },

  async reap(db: Kysely<DB>): Promise<{ id: string; type: string; state: 'queued' | 'dead' }[]> {
    const { rows } = await sql<{ id: string; type: string; state: 'queued' | 'dead' }>`
      select id, type, state from jobs_reap()`.execute(db);
    return rows;
  },

  async countByState(db: Kysely<DB>): Promise<{ state: string; jobs: number }[]> {
    const { rows } = await sql<{
      state: string;
      jobs: string;
    }>`select state, jobs from jobs_count_by_state()`.execute(db);
    return rows.map((r) => ({ state: r.state, jobs: Number(r.jobs) }));
  },
};
