import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RingEntry {
  kid: string;
  key: string;
  notBefore?: string;
}

export interface SecretsDir {
  /** Point SECRETS_DIR here. */
  dir: string;
  /** Writes a key ring file (mode 0600); returns its entries. New random keys unless given. */
  writeRing(name: string, entries?: RingEntry[]): RingEntry[];
  writeText(name: string, value: string): string;
  remove(): void;
}

export const randomKey = (): string => randomBytes(32).toString('base64');

/** A throwaway secrets directory laid out like /run/secrets. */
export function createSecretsDir(): SecretsDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-secrets-'));
  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  };
  return {
    dir,
    writeRing: (name, entries = [{ kid: 'k1', key: randomKey() }]) => {
      write(name, JSON.stringify({ keys: entries }));
      return entries;
    },
    writeText: write,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
