/** What every secret is replaced by, so a reader can tell a value was present but withheld. */
export const REDACTED = '[REDACTED]';

// A key is sensitive when its name says it carries a credential. Matching on fragments rather than a
// fixed list catches the variants services invent (dbPassword, stripe_api_key, refreshToken).
const SENSITIVE_KEY =
  /cookie|authorization|x-user-token|secret|password|passwd|passphrase|token|api[-_]?key|private[-_]?key|credential/i;

// Secrets also leak inside free text: error messages quoting a header, URLs with credentials or a
// ?token= query, a JWT pasted into a message. These patterns catch the obvious shapes.
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g;
const BEARER = /\bBearer\s+[\w.~+/-]+=*/gi;
const URL_USERINFO = /(\b[a-z][a-z\d+.-]*:\/\/)[^/\s@?#]+@/gi;
const SENSITIVE_ASSIGNMENT =
  /\b([\w-]*(?:secret|password|passwd|passphrase|token|api[-_]?key|private[-_]?key|credential)[\w-]*)=([^&\s;,"']+)/gi;

// Deeper than any legitimate log payload; stops a pathological structure from blowing the stack.
const MAX_DEPTH = 32;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** Replaces secret-looking substrings of free text, keeping the rest readable. */
export function scrubString(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(SENSITIVE_ASSIGNMENT, `$1=${REDACTED}`);
}

/**
 * Returns a deep copy of `value` that is safe to log: values under sensitive keys become '[REDACTED]',
 * strings are scrubbed of tokens, Errors become plain objects (JSON.stringify would drop their
 * message and stack), and cycles become '[Circular]'. The input is never modified.
 */
export function redact(value: unknown): unknown {
  return copyRedacted(value, new Set(), 0);
}

function copyRedacted(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (typeof value !== 'object' || value === null) return value;
  // Only ancestors count as cycles: the same object reached twice by different paths is copied twice.
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  // Bytes are never useful in a log line and may be key material.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[Binary ${value.byteLength} bytes]`;

  ancestors.add(value);
  try {
    return copyObject(value, ancestors, depth + 1);
  } finally {
    ancestors.delete(value);
  }
}

function copyObject(value: object, ancestors: Set<object>, depth: number): unknown {
  if (Array.isArray(value)) return value.map((item) => copyRedacted(item, ancestors, depth));
  if (value instanceof Error) return copyError(value, ancestors, depth);
  if (value instanceof Map) {
    return copyEntries(
      Array.from(value, ([key, item]) => [String(key), item]),
      ancestors,
      depth,
    );
  }
  if (value instanceof Set) return Array.from(value, (item) => copyRedacted(item, ancestors, depth));
  // Dates, URLs and similar say how they want to be serialised; honour that before scrubbing.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return copyRedacted(toJSON.call(value), ancestors, depth);
  return copyEntries(Object.entries(value), ancestors, depth);
}

function copyError(error: Error, ancestors: Set<object>, depth: number): Record<string, unknown> {
  // Libraries throw Error subclasses whose message or stack are not strings (or absent):
  // logging must never be what turns a handled error into a crash.
  const copy: Record<string, unknown> = {
    name: error.name,
    message:
      typeof error.message === 'string'
        ? scrubString(error.message)
        : copyRedacted(error.message, ancestors, depth),
  };
  if (typeof error.stack === 'string') copy.stack = scrubString(error.stack);
  copyEntries(Object.entries(error), ancestors, depth, copy);
  // `cause` is usually non-enumerable, yet it is often the most useful part of the chain.
  if (error.cause !== undefined && !Object.hasOwn(copy, 'cause'))
    copy.cause = copyRedacted(error.cause, ancestors, depth);
  return copy;
}

function copyEntries(
  entries: Array<[string, unknown]>,
  ancestors: Set<object>,
  depth: number,
  copy: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [key, item] of entries) {
    // Nullish values stay visible: "authorization: undefined" tells a reader the header was missing.
    const safe = isSensitiveKey(key) && item != null ? REDACTED : copyRedacted(item, ancestors, depth);
    // defineProperty, because assigning a key named "__proto__" would replace the copy's prototype.
    Object.defineProperty(copy, key, { value: safe, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
