import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { KeyRing } from '@tenantmesh/config';
import type { Database } from '@tenantmesh/db';
import type { Logger } from '@tenantmesh/observability';
import { createEventsClient } from '../clients/events-client';
import { createFilesClient } from '../clients/files-client';
import type { EventsClient, FilesClient, JobContext, JobType } from '../job-types';
import type { JobsMetrics } from '../jobs-metrics';
import { retryDelayMs } from './backoff';
import { EventsOutbox } from './events-outbox';
import { type JobRow, queueStore } from './queue-store';

/** PostgreSQL NOTIFY channel a new job is announced on (migration 0007's trigger). */
export const JOBS_CHANNEL = 'tenantmesh_jobs';

/** Consecutive database failures after which a worker that owns its pool opens a fresh one. */
const REOPEN_AFTER_FAILURES = 8;
/**
 * A queue statement that has not answered after this long is given up on. After a database
 * restart a driver connection can be left half-dead, its queries never answered: without a bound,
 * the claim loop (or a slot waiting to record a failure) would wait forever while heartbeats on
 * other connections keep the worker looking alive.
 */
const DEFAULT_DB_TIMEOUT_MS = 10_000;

class DatabaseTimeout extends Error {
  override readonly name = 'DatabaseTimeout';
}

/** Most successes settled in one statement. */
const SETTLE_BATCH = 500;
/** A result larger than this (JSON) is left out of `job.succeeded`: the job row has it (GET /jobs/:id). */
const MAX_EVENT_RESULT_BYTES = 8 * 1024;

function succeededEvent(job: JobRow, result: unknown): Record<string, unknown> {
  const json = JSON.stringify(result ?? null);
  return Buffer.byteLength(json) <= MAX_EVENT_RESULT_BYTES
    ? { jobId: job.id, type: job.type, result: result ?? null }
    : { jobId: job.id, type: job.type, resultOmitted: true };
}

export interface WorkerOptions {
  database: Database;
  /**
   * Opens a fresh pool for this worker. With it, the worker owns its pool: after a run of
   * database failures (a restart can leave the driver's connections unusable) it swaps the pool
   * for a new one, and closes it on stop.
   */
  reopen?: () => Database;
  logger: Logger;
  metrics: JobsMetrics;
  types: ReadonlyMap<string, JobType<unknown>>;
  /** Jobs running at once. */
  concurrency: number;
  /**
   * Jobs claimed ahead of free slots (0: claim only free slots). One claim then moves up to
   * concurrency + prefetch jobs; claimed-ahead jobs count as running in the database (their
   * attempt is counted) and go back to the queue on stop.
   */
  prefetch: number;
  pollIntervalMs: number;
  heartbeatMs: number;
  reapIntervalMs: number;
  /** How long one queue statement may take before it counts as a failure (10 s). */
  dbTimeoutMs?: number;
  upstreams: { filesUrl: string; eventsUrl: string; filesRing: KeyRing; eventsRing: KeyRing };
}

interface Running {
  job: JobRow;
  abort: AbortController;
  done: Promise<void>;
}

interface Success {
  job: JobRow;
  result: unknown;
  started: bigint;
}

/**
 * One worker process's loop (ADR 0008). Claims with one SKIP LOCKED statement up to
 * concurrency + prefetch jobs, runs up to `concurrency` at once, and stores outcomes fenced by
 * its own id: successes in batches (everything that finished while the previous batch was in
 * flight), failures one by one. Woken by NOTIFY within milliseconds, polling as the fallback (a
 * wake that arrives mid-claim is remembered); heart-beats so the reaper can tell it is alive;
 * reaps other workers' stale locks; survives the database going away (every step retries).
 */
export class Worker {
  readonly id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Handlers executing. */
  private readonly running = new Map<string, Running>();
  /** Claimed ahead, not started yet. */
  private readonly ready: JobRow[] = [];
  /** Finished; their success is not stored yet. */
  private readonly settling = new Map<string, Success>();
  private unsettled: Success[] = [];
  private settler: Promise<void> | undefined;
  private readonly outbox: EventsOutbox;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private loop: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  /** Set by NOTIFY, a freed slot or stop; consumed by the loop (so none is lost mid-claim). */
  private woken = false;
  private resolveSleep: (() => void) | undefined;
  /** Bumped by every NOTIFY: a claim that came back short while one arrived must not sleep. */
  private notifications = 0;
  /** The last claim found fewer due jobs than it asked for; only NOTIFY or the poll may claim. */
  private drained = false;
  private claiming = false;
  private suspects = new Set<string>();
  private database: Database;
  private failures = 0;
  private reopening = false;

  constructor(private readonly options: WorkerOptions) {
    this.database = options.database;
    const { upstreams } = options;
    this.outbox = new EventsOutbox({
      logger: options.logger,
      onLost: (reason, events) => options.metrics.eventsLost.inc({ reason }, events),
      send: (uid, events) =>
        createEventsClient({ baseUrl: upstreams.eventsUrl, ring: upstreams.eventsRing, uid }).publishMany(
          events,
        ),
    });
  }

  async start(): Promise<void> {
    await this.beat();
    await this.listen();
    this.every(this.options.heartbeatMs, () => void this.beat());
    this.every(this.options.reapIntervalMs, () => void this.reap());
    this.loop = this.run();
    this.options.logger.info('worker started', {
      workerId: this.id,
      concurrency: this.options.concurrency,
      prefetch: this.options.prefetch,
    });
  }

  /**
   * Stops claiming and puts claimed-ahead jobs back; waits for running jobs up to graceMs, then
   * aborts them and puts them back; stores the outcomes of the finished ones.
   */
  async stop(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.stopping = true;
    this.poke();
    for (const timer of this.timers) clearInterval(timer);
    await this.loop;
    await this.releaseUnstarted();
    const finished = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      for (const r of this.running.values()) r.abort.abort(new Error('worker shutting down'));
      await Promise.all([...this.running.values()].map((r) => r.done));
    }
    await this.settler;
    await this.outbox.drain(Math.max(1000, deadline - Date.now()));
    await this.unlisten?.().catch(() => undefined);
    await this.queue('worker gone', (db) => queueStore.workerGone(db, this.id)).catch(() => undefined);
    if (this.options.reopen) await this.database.close().catch(() => undefined);
    this.options.logger.info('worker stopped', { workerId: this.id });
  }

  private poke(): void {
    this.woken = true;
    this.resolveSleep?.();
  }

  /** One queue statement on the current pool, bounded by dbTimeoutMs (DatabaseTimeout). */
  private async queue<T>(what: string, call: (db: Database['db']) => Promise<T>): Promise<T> {
    const ms = this.options.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call(this.database.db),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DatabaseTimeout(`${what}: no answer within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async listen(): Promise<void> {
    try {
      const listener = await this.database.sql.listen(JOBS_CHANNEL, () => {
        this.notifications += 1;
        this.drained = false;
        this.poke();
      });
      this.unlisten = () => listener.unlisten();
    } catch (error) {
      this.options.logger.warn('LISTEN failed; polling until the pool is reopened', { err: error });
    }
  }

  /**
   * Counts consecutive database failures; after enough of them, or at once when a statement was
   * not answered at all, a fresh pool (when the worker owns one).
   */
  private async failed(error: unknown, what: string): Promise<void> {
    this.failures += 1;
    this.options.logger.warn(`${what} failed; retrying`, { err: error, failures: this.failures });
    if (!this.options.reopen || this.reopening || this.stopping) return;
    // A statement left unanswered means a connection that will not recover: replace the pool now.
    const hung = error instanceof DatabaseTimeout;
    if (!hung && this.failures < REOPEN_AFTER_FAILURES) return;
    this.reopening = true;
    try {
      const old = this.database;
      this.database = this.options.reopen();
      this.failures = 0;
      this.options.logger.warn('reopened the worker’s database pool', {
        reason: hung ? 'a statement was not answered' : 'repeated failures',
      });
      await this.unlisten?.().catch(() => undefined);
      await this.listen();
      void old.sql.end({ timeout: 1 }).catch(() => undefined);
    } finally {
      this.reopening = false;
    }
  }

  private get capacity(): number {
    return this.options.concurrency + this.options.prefetch;
  }

  /** Claim when the ready jobs are down to half the prefetch (or, without prefetch, a slot is free). */
  private wantsToClaim(): boolean {
    return (
      !this.drained &&
      this.ready.length <= this.options.prefetch / 2 &&
      this.running.size + this.ready.length < this.capacity
    );
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      if (this.wantsToClaim()) {
        const limit = this.capacity - this.running.size - this.ready.length;
        const notificationsBefore = this.notifications;
        this.claiming = true;
        let errored = false;
        try {
          const jobs = await this.queue('claim', (db) =>
            queueStore.claim(db, { workerId: this.id, limit, types: [...this.options.types.keys()] }),
          );
          this.failures = 0;
          for (const job of jobs) {
            this.options.metrics.claimed.inc({ type: job.type });
            this.options.metrics.claimLatency.observe(
              Math.max(0, (Date.now() - job.run_at.getTime()) / 1000),
            );
          }
          this.ready.push(...jobs);
          this.dispatch();
          // A full batch may mean more are waiting: claim again at once (when there is room).
          if (jobs.length === limit) continue;
          this.drained = this.notifications === notificationsBefore;
        } catch (error) {
          errored = true;
          await this.failed(error, 'claiming jobs');
        } finally {
          this.claiming = false;
        }
        // After an error, the poll (or a freed slot) decides when to try again, not a stale wake.
        if (errored) this.woken = false;
      }
      await this.sleep();
    }
  }

  /** Until poked (NOTIFY, a freed slot, stop) or the poll interval, which also clears `drained`. */
  private async sleep(): Promise<void> {
    if (this.woken || this.stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.drained = false;
        resolve();
      }, this.options.pollIntervalMs);
      this.resolveSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.resolveSleep = undefined;
  }

  /** Starts ready jobs in free slots. */
  private dispatch(): void {
    while (!this.stopping && this.running.size < this.options.concurrency) {
      const job = this.ready.shift();
      if (!job) return;
      const abort = new AbortController();
      const entry: Running = { job, abort, done: Promise.resolve() };
      this.running.set(job.id, entry);
      entry.done = this.execute(job, abort).finally(() => {
        this.running.delete(job.id);
        this.dispatch();
        if (this.wantsToClaim()) this.poke();
      });
    }
  }

  private context(job: JobRow, abort: AbortController): JobContext {
    const { logger, upstreams } = this.options;
    const log = { jobId: job.id, type: job.type, uid: job.user_id, attempt: job.attempts };
    let files: FilesClient | undefined;
    let events: EventsClient | undefined;
    let jobLogger: Logger | undefined;
    const ctx: JobContext = {
      jobId: job.id,
      type: job.type,
      uid: job.user_id,
      attempt: job.attempts,
      signal: abort.signal,
      database: this.database,
      // Built on first use: most jobs need only some of these.
      get files() {
        files ??= createFilesClient({
          baseUrl: upstreams.filesUrl,
          ring: upstreams.filesRing,
          uid: job.user_id,
        });
        return files;
      },
      get events() {
        events ??= createEventsClient({
          baseUrl: upstreams.eventsUrl,
          ring: upstreams.eventsRing,
          uid: job.user_id,
        });
        return events;
      },
      get logger() {
        jobLogger ??= logger.child(log);
        return jobLogger;
      },
      progress: async (percent, detail = {}) => {
        await ctx.events
          .publish('job.progress', { jobId: job.id, type: job.type, percent, ...detail })
          .catch((error: unknown) => logger.warn('progress event not delivered', { ...log, err: error }));
      },
    };
    return ctx;
  }

  /** Runs one job; resolves when its slot may be reused (a success is then stored in the background). */
  private async execute(job: JobRow, abort: AbortController): Promise<void> {
    const started = process.hrtime.bigint();
    const type = this.options.types.get(job.type);
    try {
      if (!type) throw new Error(`no handler for job type ${job.type}`);
      const result = await type.run(this.context(job, abort), type.payload.parse(job.payload));
      this.settle({ job, result, started });
    } catch (error) {
      await this.failAttempt(job, type, error, abort, started);
    }
  }

  private async failAttempt(
    job: JobRow,
    type: JobType<unknown> | undefined,
    error: unknown,
    abort: AbortController,
    started: bigint,
  ): Promise<void> {
    const { logger, metrics } = this.options;
    const log = { jobId: job.id, type: job.type, uid: job.user_id, attempt: job.attempts };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (this.stopping && abort.signal.aborted) {
      const released = await this.queue('release a job', (db) =>
        queueStore.release(db, { workerId: this.id, ids: [job.id] }),
      )
        .then((ids) => ids.has(job.id))
        .catch(() => false);
      metrics.runDuration.observe({ type: job.type, outcome: 'released' }, seconds);
      logger.info('job released for another worker', { ...log, released });
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const retryAt = new Date(
      Date.now() + retryDelayMs(job.attempts, type?.backoff ?? { baseMs: 1000, maxMs: 60_000 }),
    );
    const state = await this.queue('record a failed attempt', (db) =>
      queueStore.fail(db, { id: job.id, workerId: this.id, error: message, retryAt }),
    ).catch(async (e: unknown) => {
      await this.failed(e, 'recording a failed attempt');
      logger.error('could not record a failed attempt; the job is released as an orphan', {
        ...log,
        err: e,
      });
      return undefined;
    });
    metrics.runDuration.observe({ type: job.type, outcome: state === 'dead' ? 'dead' : 'failed' }, seconds);
    if (state === 'dead') {
      metrics.dead.inc({ type: job.type });
      logger.error('job dead: no attempts left', { ...log, error: message });
      this.outbox.push(job.user_id, {
        type: 'job.dead',
        data: { jobId: job.id, type: job.type, error: message },
      });
    } else {
      logger.warn('job attempt failed; will retry', { ...log, error: message, retryAt });
    }
  }

  /** Queues a success; one statement stores everything queued while the previous one ran. */
  private settle(success: Success): void {
    this.settling.set(success.job.id, success);
    this.unsettled.push(success);
    this.settler ??= this.storeSuccesses().finally(() => {
      this.settler = undefined;
    });
  }

  private async storeSuccesses(): Promise<void> {
    const { logger, metrics } = this.options;
    while (this.unsettled.length > 0) {
      const batch = this.unsettled.splice(0, SETTLE_BATCH);
      const stored = await this.persist('record successes', () =>
        this.queue('record successes', (db) =>
          queueStore.succeed(db, {
            workerId: this.id,
            jobs: batch.map((s) => ({ id: s.job.id, result: s.result })),
          }),
        ),
      );
      const now = process.hrtime.bigint();
      for (const { job, result, started } of batch) {
        this.settling.delete(job.id);
        if (stored === undefined) continue; // stopping with the database away: the reaper takes over
        if (!stored.has(job.id)) {
          logger.warn('job finished but no longer ours (reaped, or its user is gone): result dropped', {
            jobId: job.id,
            type: job.type,
          });
          continue;
        }
        metrics.runDuration.observe({ type: job.type, outcome: 'succeeded' }, Number(now - started) / 1e9);
        this.outbox.push(job.user_id, { type: 'job.succeeded', data: succeededEvent(job, result) });
      }
    }
  }

  /**
   * A job's outcome must reach the database: while this worker lives it keeps heart-beating, so
   * the reaper would never take back a job whose terminal write was lost (a database restart).
   * Retries until it lands; gives up only when the worker is stopping (the reaper then takes over).
   */
  private async persist<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await write();
        this.failures = 0;
        return result;
      } catch (error) {
        if (this.stopping && attempt > 3) {
          this.options.logger.error(`could not ${what}; the reaper will take the jobs back`, { err: error });
          return undefined;
        }
        await this.failed(error, what);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Claimed-ahead jobs that never started go straight back to the queue (stop). */
  private async releaseUnstarted(): Promise<void> {
    const jobs = this.ready.splice(0);
    if (jobs.length === 0) return;
    const released = await this.queue('release claimed-ahead jobs', (db) =>
      queueStore.release(db, { workerId: this.id, ids: jobs.map((j) => j.id) }),
    ).catch((error: unknown) => {
      this.options.logger.warn('could not release claimed-ahead jobs; the reaper will take them back', {
        err: error,
      });
      return new Set<string>();
    });
    this.options.logger.info('claimed-ahead jobs released', { jobs: jobs.length, released: released.size });
  }

  private holds(id: string): boolean {
    return this.running.has(id) || this.settling.has(id) || this.ready.some((j) => j.id === id);
  }

  private async beat(): Promise<void> {
    const { logger } = this.options;
    try {
      await this.queue('heartbeat', (db) => queueStore.heartbeat(db, this.id));
      if (this.claiming) return;
      // Jobs held in the database but not here: a claim whose reply was lost. Seen twice in a
      // row (not a claim landing right now), they are released for any worker to take.
      const held = await this.queue('held jobs', (db) => queueStore.heldBy(db, this.id));
      const orphans = held.filter((id) => !this.holds(id));
      const confirmed = orphans.filter((id) => this.suspects.has(id));
      this.suspects = new Set(orphans);
      if (confirmed.length === 0) return;
      const released = await this.queue('release orphans', (db) =>
        queueStore.release(db, { workerId: this.id, ids: confirmed }),
      );
      if (released.size > 0) {
        logger.warn('released jobs claimed while the database connection was lost', { jobs: [...released] });
      }
    } catch (error) {
      await this.failed(error, 'heartbeat');
    }
  }

  private async reap(): Promise<void> {
    try {
      for (const job of await this.queue('reap', (db) => queueStore.reap(db))) {
        this.options.metrics.reaped.inc({ outcome: job.state === 'dead' ? 'dead' : 'requeued' });
        if (job.state === 'dead') this.options.metrics.dead.inc({ type: job.type });
        this.options.logger.warn('reaped a job whose worker stopped heart-beating', {
          jobId: job.id,
          state: job.state,
        });
      }
    } catch (error) {
      await this.failed(error, 'reaping');
    }
  }

  private every(ms: number, tick: () => void): void {
    const timer = setInterval(tick, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
