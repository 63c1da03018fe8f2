import type { LatestDrills } from '../db/find-latest-drills';
import { epochSeconds, formatGauges } from './textfile';

/**
 * The restore drill's state for alerting (infra/observability/prometheus/alerts.yml:
 * RestoreDrillFailed, RestoreDrillOverdue), from backup_drills rather than from this run alone,
 * so a failed run still reports when the last success was.
 */
export function drillMetricsText({ successful, newest }: LatestDrills): string {
  return formatGauges([
    {
      name: 'tenantmesh_restore_drill_last_status',
      help: 'Outcome of the newest restore drill of this kind: 1 passed, 0 failed.',
      samples: newest.map((d) => ({ labels: { kind: d.kind }, value: d.ok ? 1 : 0 })),
    },
    {
      name: 'tenantmesh_restore_drill_last_run_timestamp_seconds',
      help: 'When the newest restore drill of this kind finished, passed or not.',
      samples: newest.map((d) => ({ labels: { kind: d.kind }, value: epochSeconds(d.finishedAt) })),
    },
    {
      name: 'tenantmesh_restore_drill_last_success_timestamp_seconds',
      help: 'When the newest successful restore drill of this kind finished.',
      samples: successful.map((d) => ({ labels: { kind: d.kind }, value: epochSeconds(d.finishedAt) })),
    },
  ]);
}
