import { runCommand } from '../run-command';

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * The uid/gid that files for the cluster must belong to: `runAs`'s when we are root (the only
 * case in which commands switch user), otherwise ours, and nothing needs changing.
 */
export async function lookUpOwner(runAs: string | undefined): Promise<Owner | undefined> {
  if (!runAs || process.getuid?.() !== 0) return undefined;
  const uid = Number((await runCommand('id', ['-u', runAs])).stdout.trim());
  const gid = Number((await runCommand('id', ['-g', runAs])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`cannot look up OS user ${runAs}`);
  return { uid, gid };
}
