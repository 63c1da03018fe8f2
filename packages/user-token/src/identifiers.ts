/**
 * Only the canonical lowercase form: the uid becomes a storage path segment and a string key in
 * caches, where `ABC…` and `abc…` would be two different users even though Postgres sees one.
 */
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Service names end up inside secret names (`token_keys_<issuer>_<audience>`) and their
 * `TOKEN_KEYS_<ISSUER>_<AUDIENCE>_FILE` variables; `_` or `-` in a name would let two different
 * pairs map to the same secret, so names are plain lowercase alphanumerics.
 */
const SERVICE_NAME = /^[a-z][a-z0-9]{0,31}$/;

export function isUid(value: unknown): value is string {
  return typeof value === 'string' && UID.test(value);
}

export function isServiceName(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_NAME.test(value);
}

export function assertServiceName(value: unknown, role: string): asserts value is string {
  if (!isServiceName(value)) {
    throw new TypeError(
      `${role} must be a service name of lowercase letters and digits, got ${JSON.stringify(value)}`,
    );
  }
}
