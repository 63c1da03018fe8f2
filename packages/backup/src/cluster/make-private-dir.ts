import fs from 'node:fs';
import path from 'node:path';
import type { Owner } from './look-up-owner';

/**
 * A new directory (mode 0700) under `parent`, handed to `owner` when given: PostgreSQL insists on
 * owning its data directory, and nobody else should read a copy of production data.
 */
export function makePrivateDir(parent: string, prefix: string, owner?: Owner): string {
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  fs.chmodSync(dir, 0o700);
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}
