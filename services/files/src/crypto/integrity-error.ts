export type IntegrityFailure = 'bad_header' | 'bad_chunk' | 'truncated' | 'trailing_data' | 'bad_key_wrap';

const DESCRIPTIONS: Record<IntegrityFailure, string> = {
  bad_header: 'the stored object header is not the expected format header',
  bad_chunk: 'a stored chunk failed authentication',
  truncated: 'the stored object ends early',
  trailing_data: 'the stored object has bytes after its final chunk',
  bad_key_wrap: 'the wrapped data key failed authentication',
};

/**
 * Stored bytes (or a wrapped key) are not what we wrote. Messages are fixed text plus, at most, a
 * chunk index: never key material, ciphertext or plaintext, since they end up in logs.
 */
export class IntegrityError extends Error {
  constructor(
    readonly reason: IntegrityFailure,
    chunk?: number,
  ) {
    super(`${DESCRIPTIONS[reason]}${chunk === undefined ? '' : ` (chunk ${chunk})`}`);
    this.name = 'IntegrityError';
  }
}

/** The ring no longer holds the master key an object's data key was wrapped with. */
export class UnknownMasterKeyError extends Error {
  constructor(readonly kid: string) {
    super(`no master key with kid ${JSON.stringify(kid)} in the key ring`);
    this.name = 'UnknownMasterKeyError';
  }
}
