import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { KeyRing, parseKeyRing } from '@tenantmesh/config';
import { createDecryptStream, createEncryptStream } from './chunked-cipher';
import { newDataKey, rewrapDataKey, unwrapDataKey, wrapDataKey } from './data-keys';
import { IntegrityError, UnknownMasterKeyError } from './integrity-error';

type Entry = { kid: string; key: string };
const entry = (kid: string, bytes = 32): Entry => ({ kid, key: randomBytes(bytes).toString('base64') });
const ringOf = (...keys: Entry[]) =>
  new KeyRing(
    'files_master_keys',
    '/in-memory',
    parseKeyRing('files_master_keys', '/in-memory', JSON.stringify({ keys })),
  );

const context = 'files:v1:5b0e7f0a-3c1e-4a55-9a57-0d6f5b7e2f11:0c7d3a55-9e4a-4d1b-8c1e-2b7f4c0e9a10';

describe('data keys', () => {
  it('round-trips a data key through wrap and unwrap, recording the active kid', () => {
    const ring = ringOf(entry('old'), entry('current', 64));
    const dataKey = newDataKey();
    const wrapped = wrapDataKey(ring, dataKey, context);
    expect(wrapped.kid).toBe('current');
    expect(wrapped.wrapped.includes(dataKey)).toBe(false);
    expect(unwrapDataKey(ring, wrapped, context)).toEqual(dataKey);
  });

  it('makes fresh random data keys', () => {
    expect(newDataKey()).toHaveLength(32);
    expect(newDataKey()).not.toEqual(newDataKey());
  });

  it('refuses a wrapped key copied onto another object', () => {
    const ring = ringOf(entry('k1'));
    const wrapped = wrapDataKey(ring, newDataKey(), context);
    const otherObject = context.replace(/0c7d3a55/, '1c7d3a55');
    expect(() => unwrapDataKey(ring, wrapped, otherObject)).toThrow(
      expect.objectContaining({ reason: 'bad_key_wrap' }),
    );
  });

  it('detects any flipped byte of a wrapped key, and a wrong length', () => {
    const ring = ringOf(entry('k1'));
    const wrapped = wrapDataKey(ring, newDataKey(), context);
    for (let i = 0; i < wrapped.wrapped.length; i++) {
      const bytes = Buffer.from(wrapped.wrapped);
      bytes[i]! ^= 0x01;
      expect(() => unwrapDataKey(ring, { kid: 'k1', wrapped: bytes }, context)).toThrow(IntegrityError);
    }
    const short = { kid: 'k1', wrapped: wrapped.wrapped.subarray(1) };
    expect(() => unwrapDataKey(ring, short, context)).toThrow(
      expect.objectContaining({ reason: 'bad_key_wrap' }),
    );
  });

  it('fails to unwrap under a different master key with the same kid', () => {
    const wrapped = wrapDataKey(ringOf(entry('k1')), newDataKey(), context);
    expect(() => unwrapDataKey(ringOf(entry('k1')), wrapped, context)).toThrow(
      expect.objectContaining({ reason: 'bad_key_wrap' }),
    );
  });

  it('names the missing kid when the ring no longer holds it', () => {
    const wrapped = wrapDataKey(ringOf(entry('gone')), newDataKey(), context);
    const attempt = () => unwrapDataKey(ringOf(entry('k2')), wrapped, context);
    expect(attempt).toThrow(UnknownMasterKeyError);
    expect(attempt).toThrow(expect.objectContaining({ kid: 'gone' }));
  });

  it('re-wraps under a new master key without touching the encrypted bytes', async () => {
    const k1 = entry('k1');
    const k2 = entry('k2');
    const dataKey = newDataKey();
    const plain = randomBytes(3 * 4096 + 5);
    const opts = { chunkBytes: 4096, context };
    const stored = await buffer(Readable.from([plain]).pipe(createEncryptStream({ dataKey, ...opts })));
    const before = Buffer.from(stored);
    const wrapped = wrapDataKey(ringOf(k1), dataKey, context);

    const rewrapped = rewrapDataKey(ringOf(k1, k2), wrapped, context);
    expect(rewrapped?.kid).toBe('k2');
    expect(rewrapped?.wrapped).not.toEqual(wrapped.wrapped);

    // The old key is gone: only the re-wrapped key still opens the object.
    const afterRotation = ringOf(k2);
    expect(() => unwrapDataKey(afterRotation, wrapped, context)).toThrow(UnknownMasterKeyError);
    const unwrapped = unwrapDataKey(afterRotation, rewrapped!, context);
    expect(unwrapped).toEqual(dataKey);
    expect(stored).toEqual(before);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([stored]),
      createDecryptStream({ dataKey: unwrapped, plainBytes: plain.length, ...opts }),
      async (source: AsyncIterable<Buffer>) => {
        for await (const piece of source) out.push(piece);
      },
    );
    expect(Buffer.concat(out)).toEqual(plain);
  });

  it('leaves a key already wrapped by the active master key alone', () => {
    const ring = ringOf(entry('k1'), entry('k2'));
    const wrapped = wrapDataKey(ring, newDataKey(), context);
    expect(rewrapDataKey(ring, wrapped, context)).toBeUndefined();
  });
});
