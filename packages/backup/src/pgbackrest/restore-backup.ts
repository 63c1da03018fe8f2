import type { BackupSettings } from '../config';
import { runPgbackrest } from './run-pgbackrest';

export type RestoreTarget =
  /** The backup set exactly as it was taken: consistent at its end, no further WAL. */
  | { kind: 'latest'; set: string }
  /** A backup set, then WAL replayed up to (and including) commits stamped at or before `time`. */
  | { kind: 'pitr'; set: string; time: string };

/**
 * Restores into `dataDir` (an empty directory owned by the cluster's OS user), then stops: the
 * caller starts the cluster. Recovery promotes when it reaches the target, so the restored
 * cluster ends up on a new timeline and accepts writes (needed to create amcheck).
 */
export async function restoreBackup(
  settings: Pick<BackupSettings, 'pgbackrest' | 'stanza' | 'runAs' | 'repo'>,
  options: { dataDir: string; tablespaceDir: string; target: RestoreTarget; timeoutMs?: number },
): Promise<void> {
  const { target } = options;
  const args = [
    `--pg1-path=${options.dataDir}`,
    // Where the configuration points pg1 at the database host, restore here all the same.
    '--reset-pg1-host',
    // Tablespaces would otherwise be restored to their original paths: the live cluster's.
    `--tablespace-map-all=${options.tablespaceDir}`,
    `--set=${target.set}`,
    ...(settings.repo ? [`--repo=${settings.repo}`] : []),
    ...(target.kind === 'pitr' ? ['--type=time', `--target=${target.time}`] : ['--type=immediate']),
    '--target-action=promote',
  ];
  await runPgbackrest(settings, 'restore', args, options.timeoutMs);
}
