import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RingEntry {
  kid: string;
  key: string;
  notBefore?: string;
}

export function newKey(kid: string, notBefore?: Date): RingEntry {
  const entry: RingEntry = { kid, key: randomBytes(32).toString('base64') };
  if (notBefore) entry.notBefore = notBefore.toISOString();
  return entry;
}

/** The KeyObject a ring would build from this entry, for tests that sign with one specific key. */
export function keyObjectOf(entry: RingEntry): KeyObject {
  return createSecretKey(Buffer.from(entry.key, 'base64'));
}

export function makeSecretsDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'user-token-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes via rename, as Kubernetes swaps secret files, so a poller never reads half a file. */
export function writeRing(file: string, entries: readonly RingEntry[]): string {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ keys: entries }));
  fs.renameSync(tmp, file);
  return file;
}
