import { z } from 'zod';
import type { BackupSettings } from '../config';
import { runPgbackrest } from './run-pgbackrest';

export interface BackupSet {
  label: string;
  type: 'full' | 'diff' | 'incr';
  repo: number;
  startedAt: Date;
  stoppedAt: Date;
  /** Size of the database files it holds, and of what it takes in the repository. */
  databaseBytes: number;
  repositoryBytes: number;
}

const infoSchema = z.array(
  z.object({
    name: z.string(),
    status: z.object({ code: z.number(), message: z.string() }),
    backup: z
      .array(
        z.object({
          label: z.string(),
          type: z.enum(['full', 'diff', 'incr']),
          error: z.boolean().optional(),
          database: z.object({ 'repo-key': z.number() }),
          timestamp: z.object({ start: z.number(), stop: z.number() }),
          info: z.object({ size: z.number(), repository: z.object({ size: z.number() }) }),
        }),
      )
      .default([]),
  }),
);

/** The stanza's backup sets, oldest first (from `pgbackrest info --output=json`). */
export async function listBackups(
  settings: Pick<BackupSettings, 'pgbackrest' | 'stanza' | 'runAs' | 'repo'>,
): Promise<BackupSet[]> {
  const { stdout } = await runPgbackrest(settings, 'info', [
    '--output=json',
    ...(settings.repo ? [`--repo=${settings.repo}`] : []),
  ]);
  const stanza = infoSchema.parse(JSON.parse(stdout)).find((s) => s.name === settings.stanza);
  if (!stanza) throw new Error(`pgBackRest knows no stanza ${settings.stanza}`);
  return stanza.backup
    .filter((b) => !b.error) // a backup that found checksum errors is not one to restore from
    .map((b) => ({
      label: b.label,
      type: b.type,
      repo: b.database['repo-key'],
      startedAt: new Date(b.timestamp.start * 1000),
      stoppedAt: new Date(b.timestamp.stop * 1000),
      databaseBytes: b.info.size,
      repositoryBytes: b.info.repository.size,
    }))
    .sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime());
}
