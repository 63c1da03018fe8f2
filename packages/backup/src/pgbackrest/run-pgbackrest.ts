import type { BackupSettings } from '../config';
import { type CommandResult, runCommand } from '../run-command';

/**
 * Runs one pgBackRest command for our stanza through the configured command — pgbackrest-run,
 * which adds the repository passphrase from its secret file — as the cluster's OS user.
 */
export function runPgbackrest(
  settings: Pick<BackupSettings, 'pgbackrest' | 'stanza' | 'runAs'>,
  command: string,
  options: string[] = [],
  timeoutMs?: number,
): Promise<CommandResult> {
  return runCommand(settings.pgbackrest, [`--stanza=${settings.stanza}`, ...options, command], {
    runAs: settings.runAs,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}
