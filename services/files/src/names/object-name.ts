import { errors } from '@tenantmesh/http-kit';

export const MAX_NAME_BYTES = 1024;

// C0/C1 controls and DEL, format characters (bidi overrides and isolates, zero-width space/joiners,
// word joiner, BOM, soft hyphen…), line/paragraph separators, lone surrogates, non-characters.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\uFFFE\uFFFF]/u;
// A name that still holds an escape after one decoding was encoded twice: refuse, never decode again.
const PERCENT_ESCAPE = /%[0-9a-f]{2}/i;

/**
 * One object name from its raw (percent-encoded) path segment, or a 400 `invalid_object_name`.
 * Names are single segments: folders are not supported, so `/` is refused whether raw or encoded.
 * Names never become file paths or S3 keys (storage keys are `<uid>/<uuid>`): these rules keep
 * names unambiguous and safe to show, download and zip, and make one spelling one object (NFC).
 */
export function parseObjectName(rawSegment: string): string {
  if (rawSegment.includes('/')) throw errors.invalidObjectName('folders are not supported');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawSegment);
  } catch {
    throw errors.invalidObjectName('malformed percent-encoding');
  }
  if (PERCENT_ESCAPE.test(decoded))
    throw errors.invalidObjectName('percent-escapes are not allowed (double encoding)');
  return validateObjectName(decoded);
}

/** The rules for an already decoded name (also used for names arriving in JSON bodies). */
export function validateObjectName(decoded: string): string {
  if (INVISIBLE.test(decoded)) throw errors.invalidObjectName('control, invisible or bidi characters');
  const name = decoded.normalize('NFC');
  if (name.length === 0) throw errors.invalidObjectName('empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw errors.invalidObjectName(`longer than ${MAX_NAME_BYTES} UTF-8 bytes`);
  }
  if (name === '.' || name === '..') throw errors.invalidObjectName('"." and ".." are not names');
  if (name.includes('/') || name.includes('\\')) throw errors.invalidObjectName('slashes and backslashes');
  if (name.trim() !== name) throw errors.invalidObjectName('leading or trailing whitespace');
  return name;
}
