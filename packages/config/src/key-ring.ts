import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { readSecretFile } from './secret-files';

/** Keys shorter than this are refused: HS256 and AES-256 both want 256 bits of key. */
export const MIN_KEY_BYTES = 32;

export interface RingKey {
  readonly kid: string;
  readonly key: KeyObject;
  /** The key may verify before this instant, but does not sign until it (staged rotation). */
  readonly notBefore?: Date;
}

export interface KeyRingSnapshot {
  readonly keys: readonly RingKey[];
  /** Content hash, so a reload that changes nothing is a no-op. */
  readonly digest: string;
}

const KID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Parses a key-ring file: `{"keys":[{"kid":"2026-11","key":"<base64, ≥32 bytes>","notBefore":"<ISO date>"?}]}`.
 * Order matters: the LAST key whose notBefore has passed signs; every key verifies.
 * Errors name the file and the entry index, never a key.
 */
export function parseKeyRing(name: string, file: string, content: string): KeyRingSnapshot {
  const fail = (why: string): never => {
    throw new Error(`secret ${name}: key ring file ${file} ${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    return fail('is not valid JSON (expected {"keys":[{"kid":…,"key":…}]})');
  }
  const entries = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(entries)) return fail('has no "keys" array');
  if (entries.length === 0) return fail('has an empty "keys" array');
  const seen = new Set<string>();
  const keys = entries.map((entry: unknown, index): RingKey => {
    const e = (entry ?? {}) as { kid?: unknown; key?: unknown; notBefore?: unknown };
    if (typeof e.kid !== 'string' || !KID.test(e.kid)) {
      fail(`entry ${index}: "kid" must be 1-64 characters of A-Z a-z 0-9 . _ : -`);
    }
    const kid = e.kid as string;
    if (seen.has(kid)) fail(`entry ${index}: duplicate kid "${kid}"`);
    seen.add(kid);
    if (typeof e.key !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(e.key.trim())) {
      fail(`entry ${index} (kid "${kid}"): "key" must be a base64 string`);
    }
    const bytes = Buffer.from((e.key as string).trim(), 'base64');
    if (bytes.length < MIN_KEY_BYTES) {
      fail(
        `entry ${index} (kid "${kid}"): key is ${bytes.length} bytes, at least ${MIN_KEY_BYTES} are required`,
      );
    }
    let notBefore: Date | undefined;
    if (e.notBefore !== undefined) {
      notBefore = new Date(String(e.notBefore));
      if (typeof e.notBefore !== 'string' || Number.isNaN(notBefore.getTime())) {
        fail(`entry ${index} (kid "${kid}"): "notBefore" must be an ISO 8601 date`);
      }
    }
    return notBefore ? { kid, key: createSecretKey(bytes), notBefore } : { kid, key: createSecretKey(bytes) };
  });
  return { keys, digest: createHash('sha256').update(content).digest('hex') };
}

export interface KeyRingOptions {
  /** How often the file is re-read, in ms. Kubernetes swaps secret files via symlinks, so we poll. */
  reloadIntervalMs?: number;
  /** Called when a reload fails; the ring keeps its last good keys. */
  onReloadError?: (error: Error) => void;
  onReload?: (kids: string[]) => void;
}

/**
 * A rolling-rotation key ring backed by a secret file. The file is re-read live: add a key
 * (verifiers accept it), let it become the signer (last, or when its notBefore passes), then drop
 * the old one — no restart anywhere.
 */
export class KeyRing {
  private snapshot: KeyRingSnapshot;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly file: string,
    initial: KeyRingSnapshot,
    private readonly options: KeyRingOptions = {},
  ) {
    this.snapshot = initial;
  }

  /** Loads the ring or throws an Error whose message names the file (never its content). */
  static load(name: string, file: string, options: KeyRingOptions = {}): KeyRing {
    return new KeyRing(name, file, readRing(name, file), options);
  }

  get kids(): string[] {
    return this.snapshot.keys.map((k) => k.kid);
  }

  /** The key that signs now: the last one whose notBefore has passed. */
  signingKey(now: Date = new Date()): RingKey {
    const keys = this.snapshot.keys;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (!k.notBefore || k.notBefore.getTime() <= now.getTime()) return k;
    }
    // Every key is staged for the future: sign with the oldest rather than refuse all traffic.
    return keys[0]!;
  }

  find(kid: string): RingKey | undefined {
    return this.snapshot.keys.find((k) => k.kid === kid);
  }

  /** Re-reads the file now. Returns true when the keys changed. On error keeps the old keys. */
  reload(): boolean {
    try {
      const next = readRing(this.name, this.file);
      if (next.digest === this.snapshot.digest) return false;
      this.snapshot = next;
      this.options.onReload?.(this.kids);
      return true;
    } catch (error) {
      this.options.onReloadError?.(error as Error);
      return false;
    }
  }

  /** Starts polling the file. The timer never keeps the process alive. */
  watch(intervalMs = this.options.reloadIntervalMs ?? 5000): this {
    this.stop();
    this.timer = setInterval(() => this.reload(), intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function readRing(name: string, file: string): KeyRingSnapshot {
  const read = readSecretFile(name, file);
  if (!read.ok) throw new Error(read.problem);
  return parseKeyRing(name, file, read.content);
}

/** Whether a file exists and is a regular file (used by callers that treat a ring as optional). */
export function fileExists(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
