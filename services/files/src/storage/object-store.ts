import type { Readable } from 'node:stream';

/** An inclusive byte range of a stored (encrypted) object, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Where encrypted object bytes live. Keys are chosen by the files service, never by a client:
 * `<uid>/<object-version-id>` (two lowercase UUIDs), so no user-supplied name ever becomes a
 * path or an S3 key. Every implementation runs the same contract suite (test/object-store-contract).
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /**
   * Streams `body` to `key` and resolves once the bytes are durably stored. If `body` errors or is
   * destroyed, or the write fails, it rejects and nothing is left behind (no partial object, no
   * temporary file or pending multipart upload). Never holds the whole body in memory.
   */
  put(key: string, body: Readable): Promise<{ bytes: number }>;
  /** The stored bytes, or an inclusive range of them. Rejects with ObjectMissingError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The stored size, or undefined when the key is absent. */
  stat(key: string): Promise<{ bytes: number } | undefined>;
  /** Removes the object; absent keys are fine (idempotent). */
  delete(key: string): Promise<void>;
  /** Every key under `prefix` (e.g. `<uid>/`), for reconciliation and tests. */
  list(prefix: string): AsyncIterable<{ key: string; bytes: number }>;
  /** Rejects when the backend cannot be reached (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectMissingError extends Error {
  constructor(readonly key: string) {
    super(`no stored object at ${key}`);
    this.name = 'ObjectMissingError';
  }
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const STORAGE_KEY = new RegExp(`^${UUID}/${UUID}$`);
const STORAGE_PREFIX = new RegExp(`^${UUID}/$`);

/** Defence in depth: a backend refuses any key that is not `<uuid>/<uuid>` before touching storage. */
export function assertStorageKey(key: string): void {
  if (!STORAGE_KEY.test(key)) throw new Error(`refusing storage key ${JSON.stringify(key)}`);
}

/** Listing prefixes are `<uuid>/` only. */
export function assertStoragePrefix(prefix: string): void {
  if (!STORAGE_PREFIX.test(prefix)) throw new Error(`refusing storage prefix ${JSON.stringify(prefix)}`);
}

/** Whether `key` is a storage key (listings skip anything else, e.g. partial files). */
export function isStorageKey(key: string): boolean {
  try {
    assertStorageKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Backends take only whole, ordered, non-negative ranges. */
export function assertRange(range: ByteRange | undefined): void {
  if (!range) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}`);
  }
}
