import type { Metrics } from '@tenantmesh/observability';
import { Counter, Gauge } from 'prom-client';

export interface EventsMetrics {
  connections: Gauge;
  published: Counter;
  delivered: Counter;
  dropped: Counter<'reason'>;
  rejected: Counter<'reason'>;
  replayed: Counter;
}

/** The events service's series (infra/observability/README.md holds the contract). */
export function createEventsMetrics(metrics: Metrics, maxStreams: number): EventsMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'tenantmesh_sse_connection_limit',
    help: 'The most event streams this replica accepts (EVENTS_MAX_STREAMS).',
    registers,
  }).set(maxStreams);
  const dropped = new Counter({
    name: 'tenantmesh_events_dropped_total',
    help: 'Events dropped before a stream: wrong_uid (the last check caught another user’s event), malformed.',
    labelNames: ['reason'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'tenantmesh_sse_rejected_total',
    help: 'Streams refused: user_cap (per-user limit), process_cap (this replica is full).',
    labelNames: ['reason'] as const,
    registers,
  });
  // Every series exists from the start at 0, so the first wrong_uid drop is an increase an alert sees.
  for (const reason of ['wrong_uid', 'malformed']) dropped.inc({ reason }, 0);
  for (const reason of ['user_cap', 'process_cap']) rejected.inc({ reason }, 0);
  return {
    dropped,
    rejected,
    connections: new Gauge({
      name: 'tenantmesh_sse_connections',
      help: 'Event streams open on this replica.',
      registers,
    }),
    published: new Counter({
      name: 'tenantmesh_events_published_total',
      help: 'Events stored and fanned out.',
      registers,
    }),
    delivered: new Counter({
      name: 'tenantmesh_events_delivered_total',
      help: 'Events written to a stream (live or replayed).',
      registers,
    }),
    replayed: new Counter({
      name: 'tenantmesh_events_replayed_total',
      help: 'Events sent from PostgreSQL to a reconnecting stream (Last-Event-ID) or to fill a gap.',
      registers,
    }),
  };
}
