import type { BackupSettings } from '../config';
import { runPgbackrest } from './run-pgbackrest';

/**
 * `pgbackrest check`: verifies the stanza's configuration against the live cluster, then forces a
 * WAL switch (as pgBackRest's superuser connection — pg_switch_wal is superuser-only and the
 * drill runs as the owner role) and waits until that segment is in every repository. The drill
 * uses it so the WAL holding its target reaches the archive now rather than at archive_timeout.
 */
export async function checkArchiving(
  settings: Pick<BackupSettings, 'pgbackrest' | 'stanza' | 'runAs'>,
  timeoutSeconds: number,
): Promise<void> {
  await runPgbackrest(settings, 'check', [`--archive-timeout=${Math.ceil(timeoutSeconds)}`]);
}
