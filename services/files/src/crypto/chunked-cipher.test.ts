import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteRange } from '../storage/object-store';
import {
  cipherRangeFor,
  createDecryptStream,
  createEncryptStream,
  DEFAULT_CHUNK_BYTES,
  encryptedLength,
  HEADER_BYTES,
  TAG_BYTES,
} from './chunked-cipher';
import { newDataKey } from './data-keys';
import { IntegrityError, type IntegrityFailure } from './integrity-error';

const context = 'files:v1:5b0e7f0a-3c1e-4a55-9a57-0d6f5b7e2f11:0c7d3a55-9e4a-4d1b-8c1e-2b7f4c0e9a10';
const C = 4096;

/** Irregular pieces, so chunk boundaries never line up with stream writes. */
function* pieces(bytes: Buffer, size = 1000): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/**
 * `released` records every byte the stream pushed, even bytes a failing pipeline discards before the
 * consumer sees them: the decryptor must never release unauthenticated plaintext at all.
 */
async function collect(
  source: Readable,
  stream: Transform,
): Promise<{ output: Buffer; released: Buffer; error?: unknown }> {
  const delivered: Buffer[] = [];
  const released: Buffer[] = [];
  const push = stream.push.bind(stream);
  stream.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
    if (chunk) released.push(Buffer.from(chunk));
    return push(chunk, encoding);
  };
  let error: unknown;
  try {
    await pipeline(source, stream, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) delivered.push(chunk);
    });
  } catch (caught) {
    error = caught ?? new Error('rejected without an error');
  }
  return { output: Buffer.concat(delivered), released: Buffer.concat(released), error };
}

async function encrypt(plain: Buffer, dataKey: Buffer, chunkBytes = C, ctx = context): Promise<Buffer> {
  const { output, error } = await collect(
    Readable.from(pieces(plain)),
    createEncryptStream({ dataKey, chunkBytes, context: ctx }),
  );
  if (error) throw error;
  return output;
}

interface ReadOpts {
  dataKey: Buffer;
  plainBytes: number;
  chunkBytes?: number;
  range?: ByteRange;
  context?: string;
}

const decrypt = (stored: Buffer, opts: ReadOpts) =>
  collect(Readable.from(pieces(stored, 777)), createDecryptStream({ chunkBytes: C, context, ...opts }));

async function roundTrip(plain: Buffer, chunkBytes: number, range?: ByteRange): Promise<Buffer> {
  const dataKey = newDataKey();
  const stored = await encrypt(plain, dataKey, chunkBytes);
  expect(stored.length).toBe(encryptedLength(plain.length, chunkBytes));
  const fetch = cipherRangeFor({ chunkBytes, plainBytes: plain.length, range });
  const { output, error } = await decrypt(stored.subarray(fetch.start, fetch.end + 1), {
    dataKey,
    chunkBytes,
    plainBytes: plain.length,
    range,
  });
  expect(error).toBeUndefined();
  return output;
}

const at = (index: number) => HEADER_BYTES + index * (C + TAG_BYTES);

describe('chunked cipher', () => {
  describe.each([C, DEFAULT_CHUNK_BYTES])('with %i-byte chunks', (chunk) => {
    it.each([0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5])('round-trips %i bytes', async (size) => {
      const plain = randomBytes(size);
      expect(await roundTrip(plain, chunk)).toEqual(plain);
    });
  });

  it('returns exactly the requested range, read from only the chunks that hold it', async () => {
    const plain = randomBytes(3 * C + 5);
    const dataKey = newDataKey();
    const stored = await encrypt(plain, dataKey);
    const n = plain.length;
    const ranges: ByteRange[] = [
      { start: 0, end: 0 },
      { start: n - 1, end: n - 1 },
      { start: 3 * C + 2, end: 3 * C + 2 },
      { start: C - 1, end: C },
      { start: C - 10, end: 2 * C + 10 },
      { start: C, end: 2 * C - 1 },
      { start: 0, end: n - 1 },
    ];
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(Math.random() * n);
      const b = Math.floor(Math.random() * n);
      ranges.push({ start: Math.min(a, b), end: Math.max(a, b) });
    }
    for (const range of ranges) {
      const fetch = cipherRangeFor({ chunkBytes: C, plainBytes: n, range });
      expect(fetch.start).toBe(range.start < C ? HEADER_BYTES : at(Math.floor(range.start / C)));
      const { output, error } = await decrypt(stored.subarray(fetch.start, fetch.end + 1), {
        dataKey,
        plainBytes: n,
        range,
      });
      expect({ range, error, ok: output.equals(plain.subarray(range.start, range.end + 1)) }).toEqual({
        range,
        error: undefined,
        ok: true,
      });
    }
  });

  it('stores no plaintext', async () => {
    const marker = Buffer.from('TENANTMESH-PLAINTEXT-MARKER|');
    const plain = Buffer.concat(Array.from({ length: Math.ceil((5 * C) / marker.length) }, () => marker));
    for (const sample of [plain, randomBytes(5 * C + 17)]) {
      const stored = await encrypt(sample, newDataKey());
      expect(stored.includes(marker)).toBe(false);
      const storedWindows = new Set<string>();
      for (let i = 0; i + 16 <= stored.length; i++) storedWindows.add(stored.toString('hex', i, i + 16));
      for (let i = 0; i + 16 <= sample.length; i++) {
        if (storedWindows.has(sample.toString('hex', i, i + 16)))
          throw new Error(`plaintext at offset ${i} stored`);
      }
    }
  });

  it('encrypts the same plaintext differently under fresh data keys', async () => {
    const plain = randomBytes(2 * C);
    const one = await encrypt(plain, newDataKey());
    const two = await encrypt(plain, newDataKey());
    expect(one.subarray(0, HEADER_BYTES)).toEqual(two.subarray(0, HEADER_BYTES));
    expect(one.subarray(HEADER_BYTES).equals(two.subarray(HEADER_BYTES))).toBe(false);
  });

  it('streams 64 MiB produced lazily through encryption and decryption, never concatenated', async () => {
    const total = 64 * 1024 * 1024;
    const piece = 1024 * 1024;
    const dataKey = newDataKey();
    const source = createHash('sha256');
    const sink = createHash('sha256');
    let storedBytes = 0;
    async function* produce() {
      for (let sent = 0; sent < total; sent += piece) {
        const bytes = randomBytes(piece);
        source.update(bytes);
        yield bytes;
      }
    }
    await pipeline(
      Readable.from(produce()),
      createEncryptStream({ dataKey, chunkBytes: DEFAULT_CHUNK_BYTES, context }),
      new Transform({
        transform(bytes: Buffer, _encoding, callback) {
          storedBytes += bytes.length;
          callback(null, bytes);
        },
      }),
      createDecryptStream({ dataKey, chunkBytes: DEFAULT_CHUNK_BYTES, context, plainBytes: total }),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) sink.update(chunk);
      },
    );
    expect(storedBytes).toBe(encryptedLength(total, DEFAULT_CHUNK_BYTES));
    expect(sink.digest('hex')).toBe(source.digest('hex'));
  });

  describe('tampering', () => {
    // Five chunks: four full ones and a 100-byte final chunk.
    const plain = randomBytes(4 * C + 100);
    const dataKey = newDataKey();
    let stored: Buffer;
    beforeAll(async () => {
      stored = await encrypt(plain, dataKey);
    });

    const flip = (offset: number) => {
      const copy = Buffer.from(stored);
      copy[offset]! ^= 0x04;
      return copy;
    };

    /** Fails with `reason`, having emitted only whole authenticated chunks of the true plaintext. */
    async function expectRejected(
      bytes: Buffer,
      reason: IntegrityFailure,
      opts: Partial<ReadOpts> = {},
      expected: Buffer = plain,
    ): Promise<Buffer> {
      const { released: output, error } = await decrypt(bytes, {
        dataKey,
        plainBytes: plain.length,
        ...opts,
      });
      expect(error).toBeInstanceOf(IntegrityError);
      expect((error as IntegrityError).reason).toBe(reason);
      expect(output.equals(expected.subarray(0, output.length))).toBe(true);
      if (!opts.range) expect(output.length % C).toBe(0);
      return output;
    }

    it('reads the untampered object back', async () => {
      expect((await decrypt(stored, { dataKey, plainBytes: plain.length })).output).toEqual(plain);
    });

    it('detects a bit flip in the header', async () => {
      for (let i = 0; i < HEADER_BYTES; i++)
        expect(await expectRejected(flip(i), 'bad_header')).toHaveLength(0);
    });

    it('detects a bit flip in a chunk body and emits nothing from that chunk on', async () => {
      expect(await expectRejected(flip(at(1) + 10), 'bad_chunk')).toEqual(plain.subarray(0, C));
    });

    it('detects a bit flip in a chunk tag', async () => {
      expect(await expectRejected(flip(at(3) - 1), 'bad_chunk')).toEqual(plain.subarray(0, 2 * C));
    });

    it('detects a bit flip in the final chunk and never emits it', async () => {
      expect(await expectRejected(flip(at(4) + 3), 'bad_chunk')).toEqual(plain.subarray(0, 4 * C));
    });

    it('detects an object cut at a chunk boundary (final chunk dropped)', async () => {
      await expectRejected(stored.subarray(0, at(4)), 'truncated');
    });

    it('detects an object cut at a chunk boundary even when the recorded size is cut to match', async () => {
      expect(await expectRejected(stored.subarray(0, at(4)), 'bad_chunk', { plainBytes: 4 * C })).toEqual(
        plain.subarray(0, 3 * C),
      );
    });

    it('detects an object cut inside a chunk', async () => {
      expect(await expectRejected(stored.subarray(0, at(2) + 100), 'truncated')).toEqual(
        plain.subarray(0, 2 * C),
      );
    });

    it('detects an object cut inside the header', async () => {
      expect(await expectRejected(stored.subarray(0, 5), 'truncated')).toHaveLength(0);
    });

    it('detects an object cut to zero bytes', async () => {
      expect(await expectRejected(Buffer.alloc(0), 'truncated')).toHaveLength(0);
    });

    it('detects a recorded size that disagrees with the stored bytes', async () => {
      await expectRejected(stored, 'bad_chunk', { plainBytes: plain.length - 50 });
      await expectRejected(stored, 'truncated', { plainBytes: plain.length + 50 });
    });

    it('detects two chunks swapped', async () => {
      const swapped = Buffer.concat([
        stored.subarray(0, at(1)),
        stored.subarray(at(2), at(3)),
        stored.subarray(at(1), at(2)),
        stored.subarray(at(3)),
      ]);
      expect(await expectRejected(swapped, 'bad_chunk')).toEqual(plain.subarray(0, C));
    });

    it('detects a chunk copied from another object under the same data key', async () => {
      // Reusing a data key across objects never happens in the service; it is the strongest splice.
      const other = await encrypt(plain, dataKey, C, context.replace('0c7d3a55', '1c7d3a55'));
      const spliced = Buffer.concat([
        stored.subarray(0, at(2)),
        other.subarray(at(2), at(3)),
        stored.subarray(at(3)),
      ]);
      expect(await expectRejected(spliced, 'bad_chunk')).toEqual(plain.subarray(0, 2 * C));
    });

    it('detects a final chunk placed before the end', async () => {
      // Only a reused data key could produce such a chunk (see above); the final flag refuses it.
      const shorter = await encrypt(plain.subarray(0, 4 * C), dataKey);
      const spliced = Buffer.concat([
        stored.subarray(0, at(3)),
        shorter.subarray(at(3), at(4)),
        stored.subarray(at(4)),
      ]);
      expect(await expectRejected(spliced, 'bad_chunk')).toEqual(plain.subarray(0, 3 * C));
    });

    it('detects bytes appended after the final chunk, without emitting the final chunk', async () => {
      for (const extra of [Buffer.of(0), randomBytes(TAG_BYTES + 32)]) {
        expect(await expectRejected(Buffer.concat([stored, extra]), 'trailing_data')).toEqual(
          plain.subarray(0, 4 * C),
        );
      }
    });

    it('detects the wrong data key, and names no key in the error', async () => {
      const wrongKey = newDataKey();
      const { released, error } = await decrypt(stored, { dataKey: wrongKey, plainBytes: plain.length });
      expect(released).toHaveLength(0);
      expect(error).toMatchObject({ reason: 'bad_chunk' });
      const message = (error as Error).message;
      for (const key of [dataKey, wrongKey]) {
        expect(message).not.toContain(key.toString('hex'));
        expect(message).not.toContain(key.toString('base64'));
      }
    });

    it('detects a tampered chunk inside a range read', async () => {
      const range = { start: C + 5, end: 3 * C + 5 };
      const fetch = cipherRangeFor({ chunkBytes: C, plainBytes: plain.length, range });
      const tampered = flip(at(2) + 7).subarray(fetch.start, fetch.end + 1);
      const expected = plain.subarray(range.start, range.end + 1);
      expect(await expectRejected(tampered, 'bad_chunk', { range }, expected)).toEqual(
        plain.subarray(C + 5, 2 * C),
      );
    });

    it('detects a range read fed the wrong chunk', async () => {
      const range = { start: C + 5, end: C + 10 };
      await expectRejected(
        stored.subarray(at(2), at(3)),
        'bad_chunk',
        { range },
        plain.subarray(C + 5, C + 11),
      );
    });
  });

  it('refuses invalid options', () => {
    const dataKey = newDataKey();
    expect(() => createEncryptStream({ dataKey, chunkBytes: 4095, context })).toThrow(/chunkBytes/);
    expect(() => createEncryptStream({ dataKey, chunkBytes: 16 * 1024 * 1024 + 1, context })).toThrow(
      /chunkBytes/,
    );
    expect(() => createEncryptStream({ dataKey: randomBytes(16), chunkBytes: C, context })).toThrow(
      /dataKey/,
    );
    const range =
      (start: number, end: number, plainBytes = 100) =>
      () =>
        cipherRangeFor({ chunkBytes: C, plainBytes, range: { start, end } });
    expect(range(0, 100)).toThrow(/range/);
    expect(range(-1, 5)).toThrow(/range/);
    expect(range(6, 5)).toThrow(/range/);
    expect(range(0, 0, 0)).toThrow(/range/);
    expect(() =>
      createDecryptStream({ dataKey, chunkBytes: C, context, plainBytes: 10, range: { start: 3, end: 10 } }),
    ).toThrow(/range/);
  });
});
