import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { KeyRing, RingKey } from '@tenantmesh/config';
import { IntegrityError, UnknownMasterKeyError } from './integrity-error';

export const DATA_KEY_BYTES = 32;

/** A data key encrypted under the ring key `kid`; stored in the object's metadata row. */
export interface WrappedDataKey {
  readonly kid: string;
  readonly wrapped: Buffer;
}

const WRAP_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = 1 + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES;
const KEK_INFO = 'tenantmesh files kek v1';

// Ring keys may be any length >= 32 and are shared with nothing else here, but deriving a
// purpose-bound KEK keeps the raw ring key out of AES and fixes its length at 256 bits.
const keks = new WeakMap<KeyObject, KeyObject>();
function kekFor(ringKey: KeyObject): KeyObject {
  let kek = keks.get(ringKey);
  if (!kek) {
    kek = createSecretKey(Buffer.from(hkdfSync('sha256', ringKey, Buffer.alloc(0), KEK_INFO, 32)));
    keks.set(ringKey, kek);
  }
  return kek;
}

// The version byte is authenticated too, so a future format cannot be downgraded into this one.
const aadFor = (context: string) => Buffer.concat([Buffer.of(WRAP_VERSION), Buffer.from(context, 'utf8')]);

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

function wrapWith(active: RingKey, dataKey: Buffer, context: string): WrappedDataKey {
  if (dataKey.length !== DATA_KEY_BYTES) throw new Error(`a data key must be ${DATA_KEY_BYTES} bytes`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kekFor(active.key), iv);
  cipher.setAAD(aadFor(context));
  const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return {
    kid: active.kid,
    wrapped: Buffer.concat([Buffer.of(WRAP_VERSION), iv, body, cipher.getAuthTag()]),
  };
}

/**
 * Wraps under the ring's active key. `context` (`files:v1:<uid>:<objectVersionId>`) is the AAD, so a
 * wrapped key copied onto another object or user does not unwrap there.
 */
export function wrapDataKey(
  ring: Pick<KeyRing, 'signingKey'>,
  dataKey: Buffer,
  context: string,
): WrappedDataKey {
  return wrapWith(ring.signingKey(), dataKey, context);
}

export function unwrapDataKey(ring: Pick<KeyRing, 'find'>, wrapped: WrappedDataKey, context: string): Buffer {
  const ringKey = ring.find(wrapped.kid);
  if (!ringKey) throw new UnknownMasterKeyError(wrapped.kid);
  const bytes = wrapped.wrapped;
  if (bytes.length !== WRAPPED_BYTES || bytes[0] !== WRAP_VERSION) throw new IntegrityError('bad_key_wrap');
  const decipher = createDecipheriv('aes-256-gcm', kekFor(ringKey.key), bytes.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(aadFor(context));
  decipher.setAuthTag(bytes.subarray(WRAPPED_BYTES - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(1 + IV_BYTES, WRAPPED_BYTES - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new IntegrityError('bad_key_wrap');
  }
}

/** Re-wraps under the ring's active key; undefined when already wrapped by it. Data is not touched. */
export function rewrapDataKey(
  ring: Pick<KeyRing, 'signingKey' | 'find'>,
  wrapped: WrappedDataKey,
  context: string,
): WrappedDataKey | undefined {
  // One read of the active key, so a ring reload mid-call cannot make us wrap under a third key.
  const active = ring.signingKey();
  if (wrapped.kid === active.kid) return undefined;
  const dataKey = unwrapDataKey(ring, wrapped, context);
  try {
    return wrapWith(active, dataKey, context);
  } finally {
    dataKey.fill(0);
  }
}
