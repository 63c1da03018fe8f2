/**
 * Encryption at rest for stored file bytes: AES-256-GCM in fixed-size, position-bound chunks, so a
 * truncated, reordered, spliced or bit-flipped object fails on read and never yields wrong bytes.
 *
 * Stored format (all integers big-endian):
 *
 *   offset 0   header (HEADER_BYTES = 9): magic 'TMF1' | format version u8 (1) | chunkBytes u32
 *   then       chunk 0 | chunk 1 | … | chunk n-1, chunk i at HEADER_BYTES + i * (chunkBytes + 16)
 *   chunk i    AES-256-GCM(dataKey) ciphertext of plaintext bytes [i*chunkBytes, (i+1)*chunkBytes)
 *              followed by its 16-byte tag; only the last may be shorter, and it is 0 bytes of
 *              ciphertext for an empty object. n = max(1, ceil(plainBytes / chunkBytes)).
 *   nonce i    chunk index u64 | final flag u8 (1 on the last chunk only) | 3 zero bytes
 *   AAD        the canonical header, rebuilt from chunkBytes rather than read (so a range read
 *              that skips offset 0 still authenticates it), followed by the UTF-8 context string
 *              (`files:v1:<uid>:<objectVersionId>`), so a chunk cannot move between objects.
 *
 * Counter nonces are safe because a data key encrypts exactly one object version: it is made
 * fresh per upload (newDataKey) and never reused, so no (key, nonce) pair repeats. The index in
 * the nonce detects reordering; the final flag detects truncation at a chunk boundary even if the
 * recorded size were cut to match. plainBytes comes from the metadata row and fixes where the final
 * chunk is; GCM authenticates each chunk's length, so a size that disagrees with the stored bytes
 * also fails.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ByteRange } from '../storage/object-store';
import { DATA_KEY_BYTES } from './data-keys';
import { IntegrityError } from './integrity-error';

export const DEFAULT_CHUNK_BYTES = 65536;
export const TAG_BYTES = 16;
const MAGIC = Buffer.from('TMF1', 'ascii');
const FORMAT_VERSION = 1;
export const HEADER_BYTES = MAGIC.length + 1 + 4;
const MIN_CHUNK_BYTES = 4096;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new Error(`chunkBytes must be an integer between ${MIN_CHUNK_BYTES} and ${MAX_CHUNK_BYTES}`);
  }
}

function checkPlainBytes(plainBytes: number): void {
  if (!Number.isSafeInteger(plainBytes) || plainBytes < 0)
    throw new Error('plainBytes must be an integer >= 0');
}

const chunkCount = (plainBytes: number, chunkBytes: number) =>
  Math.max(1, Math.ceil(plainBytes / chunkBytes));

function header(chunkBytes: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt8(FORMAT_VERSION, MAGIC.length);
  out.writeUInt32BE(chunkBytes, MAGIC.length + 1);
  return out;
}

function nonce(index: number, final: boolean): Buffer {
  const out = Buffer.alloc(12);
  out.writeBigUInt64BE(BigInt(index), 0);
  out.writeUInt8(final ? 1 : 0, 8);
  return out;
}

interface Keying {
  key: KeyObject;
  aad: Buffer;
}

function keying(opts: { dataKey: Buffer; chunkBytes: number; context: string }): Keying {
  checkChunkBytes(opts.chunkBytes);
  if (opts.dataKey.length !== DATA_KEY_BYTES) throw new Error(`dataKey must be ${DATA_KEY_BYTES} bytes`);
  if (typeof opts.context !== 'string') throw new Error('context must be a string');
  return {
    key: createSecretKey(opts.dataKey),
    aad: Buffer.concat([header(opts.chunkBytes), Buffer.from(opts.context, 'utf8')]),
  };
}

export function encryptedLength(plainBytes: number, chunkBytes: number): number {
  checkPlainBytes(plainBytes);
  checkChunkBytes(chunkBytes);
  return HEADER_BYTES + plainBytes + chunkCount(plainBytes, chunkBytes) * TAG_BYTES;
}

/** Incoming stream pieces, taken out in exact sizes without re-concatenating everything each time. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.parts.push(piece);
    this.length += piece.length;
  }

  take(n: number): Buffer {
    const first = this.parts[0];
    if (n === 0 || !first) return Buffer.alloc(0);
    this.length -= n;
    if (first.length >= n) {
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = this.parts[0]!;
      const used = Math.min(part.length, n - filled);
      part.copy(out, filled, 0, used);
      filled += used;
      if (used === part.length) this.parts.shift();
      else this.parts[0] = part.subarray(used);
    }
    return out;
  }
}

/** Plaintext in, header + chunks out. Holds back one chunk, since only end-of-input says which is final. */
export function createEncryptStream(opts: {
  dataKey: Buffer;
  chunkBytes: number;
  context: string;
}): Transform {
  const { key, aad } = keying(opts);
  const { chunkBytes } = opts;
  const pending = new ByteQueue();
  let index = 0;
  const seal = (stream: Transform, plain: Buffer, final: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(index++, final));
    cipher.setAAD(aad);
    stream.push(Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
  };
  const stream = new Transform({
    transform(piece: Buffer, _encoding, callback) {
      pending.push(piece);
      while (pending.length > chunkBytes) seal(this, pending.take(chunkBytes), false);
      callback();
    },
    flush(callback) {
      seal(this, pending.take(pending.length), true);
      callback();
    },
  });
  stream.push(header(chunkBytes));
  return stream;
}

function checkRange(range: ByteRange, plainBytes: number): void {
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    start > end ||
    end >= plainBytes
  ) {
    throw new Error('range must satisfy 0 <= start <= end <= plainBytes - 1');
  }
}

interface Plan {
  first: number;
  last: number;
  count: number;
  /** Plaintext offsets to emit, inclusive. */
  start: number;
  end: number;
}

function plan(opts: { chunkBytes: number; plainBytes: number; range?: ByteRange }): Plan {
  const { chunkBytes, plainBytes, range } = opts;
  checkChunkBytes(chunkBytes);
  checkPlainBytes(plainBytes);
  const count = chunkCount(plainBytes, chunkBytes);
  if (!range) return { first: 0, last: count - 1, count, start: 0, end: plainBytes - 1 };
  checkRange(range, plainBytes);
  return {
    first: Math.floor(range.start / chunkBytes),
    last: Math.floor(range.end / chunkBytes),
    count,
    start: range.start,
    end: range.end,
  };
}

const storedChunkBytes = (index: number, count: number, chunkBytes: number, plainBytes: number) =>
  (index === count - 1 ? plainBytes - index * chunkBytes : chunkBytes) + TAG_BYTES;

/** Which stored bytes to fetch for the whole object (range omitted) or for an inclusive plaintext range. */
export function cipherRangeFor(opts: {
  chunkBytes: number;
  plainBytes: number;
  range?: ByteRange;
}): ByteRange {
  const { first, last, count } = plan(opts);
  const { chunkBytes, plainBytes } = opts;
  const offset = (index: number) => HEADER_BYTES + index * (chunkBytes + TAG_BYTES);
  return {
    start: opts.range ? offset(first) : 0,
    end: offset(last) + storedChunkBytes(last, count, chunkBytes, plainBytes) - 1,
  };
}

/**
 * Input: exactly the stored bytes named by cipherRangeFor(same opts). Output: the plaintext (or the
 * range of it). A chunk's plaintext is pushed only after its tag verified, and the last needed
 * chunk only once the input has ended cleanly, so a caller never sees a "complete" body from a
 * stored object that has bytes appended. Failures are IntegrityError stream errors.
 */
export function createDecryptStream(opts: {
  dataKey: Buffer;
  chunkBytes: number;
  context: string;
  plainBytes: number;
  range?: ByteRange;
}): Transform {
  const { key, aad } = keying(opts);
  const { chunkBytes, plainBytes } = opts;
  const { first, last, count, start, end } = plan(opts);
  const input = new ByteQueue();
  let needHeader = !opts.range;
  let index = first;
  let held: Buffer | undefined;

  const open = (stored: Buffer): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(index, index === count - 1));
    decipher.setAAD(aad);
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    const plain = decipher.update(stored.subarray(0, stored.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      throw new IntegrityError('bad_chunk', index);
    }
    const base = index * chunkBytes;
    return plain.subarray(Math.max(0, start - base), Math.min(plain.length, end + 1 - base));
  };

  return new Transform({
    transform(piece: Buffer, _encoding, callback) {
      try {
        input.push(piece);
        if (needHeader) {
          if (input.length < HEADER_BYTES) return callback();
          if (!input.take(HEADER_BYTES).equals(header(chunkBytes))) throw new IntegrityError('bad_header');
          needHeader = false;
        }
        while (index <= last) {
          const size = storedChunkBytes(index, count, chunkBytes, plainBytes);
          if (input.length < size) break;
          const plain = open(input.take(size));
          if (index === last) held = plain;
          else this.push(plain);
          index++;
        }
        if (index > last && input.length > 0) throw new IntegrityError('trailing_data');
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      if (needHeader || index <= last) return callback(new IntegrityError('truncated'));
      this.push(held);
      callback();
    },
  });
}
