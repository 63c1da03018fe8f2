import type postgres from 'postgres';
import { lookUpOwner, type Owner } from '../cluster/look-up-owner';
import type { BackupSettings } from '../config';
import { checkArchiving } from '../pgbackrest/check-archiving';
import { type BackupSet, listBackups } from '../pgbackrest/list-backups';
import { captureSourceState, type SourceState } from '../source/capture-source-state';
import { type ArchiveLag, measureArchiveLag } from '../source/measure-archive-lag';
import { waitForArchived } from '../source/wait-for-archived';

export interface PreparedDrill {
  owner: Owner | undefined;
  lag: ArchiveLag;
  backups: BackupSet[];
  state: SourceState;
  /** From the capture's closing commit to the primary reporting its WAL archived. */
  markerArchiveSeconds: number;
}

/**
 * Everything the restores need from the live side: how far archiving trails (the RPO figure),
 * which backups exist, and the captured target — made durable in the repository before any
 * restore begins, so recovery can reach it.
 */
export async function prepareDrill(source: postgres.Sql, settings: BackupSettings): Promise<PreparedDrill> {
  const owner = await lookUpOwner(settings.runAs);
  // Measured before the drill forces a WAL switch, which would make archiving look current.
  const lag = await measureArchiveLag(source);
  const backups = await listBackups(settings);
  if (backups.length === 0) throw new Error(`stanza ${settings.stanza} has no backup to restore`);
  const state = await captureSourceState(source, { lockTimeoutMs: settings.lockTimeoutMs });
  const captured = Date.now();
  await checkArchiving(settings, settings.archiveWaitSeconds);
  await waitForArchived(source, state.markerWalFile, settings.archiveWaitSeconds);
  return { owner, lag, backups, state, markerArchiveSeconds: (Date.now() - captured) / 1000 };
}
