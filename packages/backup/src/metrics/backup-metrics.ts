import type { BackupSet } from '../pgbackrest/list-backups';
import { epochSeconds, formatGauges } from './textfile';

/**
 * When the newest good backup of each type finished, per repository (infra/observability
 * alerts.yml: BackupFullTooOld). pgBackRest lists only backups that completed; those that found
 * checksum errors are already left out by listBackups.
 */
export function backupMetricsText(backups: BackupSet[]): string {
  const newest = new Map<string, BackupSet>();
  for (const b of backups) {
    const key = `${b.type}/${b.repo}`;
    const seen = newest.get(key);
    if (!seen || b.stoppedAt > seen.stoppedAt) newest.set(key, b);
  }
  const sets = [...newest.values()].sort((a, b) => a.type.localeCompare(b.type) || a.repo - b.repo);
  return formatGauges([
    {
      name: 'tenantmesh_backup_last_success_timestamp_seconds',
      help: 'When the newest completed pgBackRest backup of this type finished, per repository.',
      samples: sets.map((b) => ({
        labels: { kind: b.type, repo: String(b.repo) },
        value: epochSeconds(b.stoppedAt),
      })),
    },
  ]);
}
