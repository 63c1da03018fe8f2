/**
 * The one error catalogue. Codes are stable API: clients and tests match on them, so never
 * rename one; add a new code instead. Every code maps to exactly one HTTP status here.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  malformed_json: 400,
  unauthenticated: 401,
  token_invalid: 401,
  forbidden: 403,
  foreign_namespace: 403,
  csrf_rejected: 403,
  sign_in_failed: 400,
  invalid_object_name: 400,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  quota_exceeded: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  rate_limited: 429,
  too_many_streams: 429,
  internal: 500,
  integrity_failure: 500,
  upstream_unavailable: 502,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Why a user token was refused: stable reasons, carried in the problem's `reason` field. */
export type TokenFailure =
  | 'missing'
  | 'duplicated'
  | 'too_large'
  | 'malformed'
  | 'bad_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_audience'
  | 'untrusted_issuer'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_long'
  | 'bad_subject'
  | 'missing_claim';

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    detail: string,
    /** Extra, non-secret fields rendered into the problem document (e.g. `reason`). */
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const errors = {
  badRequest: (detail: string) => new AppError('bad_request', detail),
  validationFailed: (detail: string, issues?: readonly { path: string; message: string }[]) =>
    new AppError('validation_failed', detail, issues ? { issues } : {}),
  malformedJson: () => new AppError('malformed_json', 'request body is not valid JSON'),
  unauthenticated: () => new AppError('unauthenticated', 'sign in first'),
  tokenInvalid: (reason: TokenFailure, detail: string) => new AppError('token_invalid', detail, { reason }),
  forbidden: (detail = 'not allowed') => new AppError('forbidden', detail),
  foreignNamespace: () => new AppError('foreign_namespace', 'path is outside your namespace'),
  invalidObjectName: (reason: string) =>
    new AppError('invalid_object_name', `invalid object name: ${reason}`),
  notFound: (detail = 'no such resource') => new AppError('not_found', detail),
  conflict: (detail: string) => new AppError('conflict', detail),
  payloadTooLarge: (detail = 'request body is too large') => new AppError('payload_too_large', detail),
  quotaExceeded: (quotaBytes: number) =>
    new AppError('quota_exceeded', 'this upload would exceed your storage quota', { quotaBytes }),
  rangeNotSatisfiable: (size: number) =>
    new AppError(
      'range_not_satisfiable',
      'the requested range is outside the object',
      {},
      {
        'Content-Range': `bytes */${size}`,
      },
    ),
  integrityFailure: () => new AppError('integrity_failure', 'the stored object failed its integrity check'),
  unsupportedMediaType: (detail = 'send application/json') => new AppError('unsupported_media_type', detail),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('rate_limited', 'too many requests', {}, { 'Retry-After': String(retryAfterSeconds) }),
  signInFailed: (
    reason: 'state_invalid' | 'provider_error' | 'code_rejected' | 'profile_invalid',
    detail: string,
  ) => new AppError('sign_in_failed', detail, { reason }),
  tooManyStreams: (retryAfterSeconds: number, cap: number) =>
    new AppError(
      'too_many_streams',
      `at most ${cap} event streams per user are open at once; close one or retry later`,
      { cap },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  serviceUnavailable: (detail = 'not ready') => new AppError('service_unavailable', detail),
  internal: () => new AppError('internal', 'internal error'),
};
