#!/usr/bin/env node
// One worker PROCESS of graphile-worker or pg-boss for bench/jobs/run.mjs, which forks it (with an
// IPC channel) as many times as it starts services/jobs/dist/main.js, so the process counts match.
// Not meant to be run by hand. Settings arrive as JSON in the first argument (see run.mjs).
//
// The job is the same no-op as ours (diagnostics.sleep {ms: 0}): `await setTimeout(0)` (Node
// clamps it to 1 ms), then return. Every job's start and end are timed with a sub-millisecond wall
// clock; a job whose payload carries `t` (the producer's clock just before its add call) yields an
// add→start and an add→done sample unless it is flagged as warm-up (`w`).
//
// IPC: the child sends {ready} once it can take jobs; the parent sends 'report' (answered with
// {report: {count, start, done, firstStart, lastEnd}}) and 'stop' (graceful stop, then exit 0).
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'services', 'jobs', 'package.json'));
const settings = JSON.parse(process.argv[2] ?? '{}');
const wallClock = () => performance.timeOrigin + performance.now();

const stats = { count: 0, start: [], done: [], firstStart: undefined, lastEnd: undefined };
async function noop(payload) {
  const started = wallClock();
  stats.firstStart ??= started;
  await sleep(0);
  stats.count += 1;
  stats.lastEnd = wallClock();
  if (payload && typeof payload.t === 'number' && !payload.w) {
    stats.start.push(started - payload.t);
    stats.done.push(stats.lastEnd - payload.t);
  }
}

const systems = {
  /** graphile-worker: one `run()` pool of `concurrency` workers, with the batching options set. */
  async graphile() {
    const { run, Logger } = require('graphile-worker');
    const events = new EventEmitter();
    const listening = new Promise((resolve) => events.once('pool:listen:success', resolve));
    const logger = new Logger(() => (level, message) => {
      if (level === 'error') process.stderr.write(`graphile-worker: ${message}\n`);
    });
    const runner = await run({
      connectionString: settings.connectionString,
      concurrency: settings.concurrency,
      maxPoolSize: settings.poolSize,
      noHandleSignals: true,
      logger,
      events,
      taskList: { noop: (payload) => noop(payload) },
      preset: {
        worker: {
          localQueue: { size: settings.graphile.localQueueSize },
          completeJobBatchDelay: settings.graphile.completeJobBatchDelay,
          failJobBatchDelay: settings.graphile.failJobBatchDelay,
        },
      },
    });
    await listening;
    return () => runner.stop();
  },

  /**
   * pg-boss: `workers` work() registrations per process, each fetching up to `batchSize` jobs per
   * poll and running them one after another, so at most `workers` handlers run at once (the
   * concurrency); `batchSize` is how many jobs a loop takes (and locks) ahead, like graphile's
   * localQueue.
   */
  async pgboss() {
    const PgBoss = require('pg-boss');
    const boss = new PgBoss({
      connectionString: settings.connectionString,
      max: settings.poolSize,
      schedule: false,
      migrate: false,
    });
    boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
    await boss.start();
    const { workers, batchSize, pollingIntervalSeconds } = settings.pgboss;
    for (let i = 0; i < workers; i++) {
      await boss.work('noop', { batchSize, pollingIntervalSeconds }, async (jobs) => {
        for (const job of jobs) await noop(job.data);
      });
    }
    return () => boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  },
};

// Orphaned (the bench was killed): go too.
process.on('disconnect', () => process.exit(1));
const stop = await systems[settings.system]();
process.on('message', async (message) => {
  if (message === 'report') process.send({ report: stats });
  if (message === 'stop') {
    process.removeAllListeners('disconnect');
    await stop();
    process.exit(0);
  }
});
process.send({ ready: true });
