import type { Metrics } from '@tenantmesh/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

export interface JobsMetrics {
  claimed: Counter<'type'>;
  claimLatency: Histogram;
  runDuration: Histogram<'type' | 'outcome'>;
  dead: Counter<'type'>;
  reaped: Counter<'outcome'>;
  eventsLost: Counter<'reason'>;
}

const STATES = ['queued', 'running', 'succeeded', 'dead'] as const;

/** The jobs service's series (infra/observability/README.md holds the contract). */
export function createJobsMetrics(
  metrics: Metrics,
  countByState: () => Promise<readonly { state: string; jobs: number }[]>,
  types: readonly string[],
): JobsMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'tenantmesh_jobs',
    help: 'Jobs in the queue by state (all replicas: read from PostgreSQL at scrape time).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const counts = new Map((await countByState()).map((c) => [c.state, c.jobs]));
      for (const state of STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  const dead = new Counter({
    name: 'tenantmesh_jobs_dead_total',
    help: 'Jobs that used up their attempts (kept, with their last error), by type.',
    labelNames: ['type'] as const,
    registers,
  });
  const reaped = new Counter({
    name: 'tenantmesh_jobs_reaped_total',
    help: 'Running jobs taken back from a worker that stopped heart-beating: requeued or dead.',
    labelNames: ['outcome'] as const,
    registers,
  });
  // Every series exists from the start at 0, so an alert sees the first death as an increase.
  for (const outcome of ['requeued', 'dead']) reaped.inc({ outcome }, 0);
  for (const type of types) dead.inc({ type }, 0);
  const eventsLost = new Counter({
    name: 'tenantmesh_jobs_events_lost_total',
    help: 'job.succeeded / job.dead events a worker could not hand to the events service: overflow (outbox full) or failed (refused, unreachable).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of ['overflow', 'failed']) eventsLost.inc({ reason }, 0);
  return {
    claimed: new Counter({
      name: 'tenantmesh_jobs_claimed_total',
      help: 'Jobs claimed by this process, by type.',
      labelNames: ['type'] as const,
      registers,
    }),
    claimLatency: new Histogram({
      name: 'tenantmesh_jobs_claim_latency_seconds',
      help: 'From a job becoming due (run_at) to a worker claiming it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    runDuration: new Histogram({
      name: 'tenantmesh_jobs_run_duration_seconds',
      help: 'How long an attempt ran, from its start in a slot to its end, by type and outcome (succeeded, failed, dead, released).',
      labelNames: ['type', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers,
    }),
    dead,
    reaped,
    eventsLost,
  };
}
