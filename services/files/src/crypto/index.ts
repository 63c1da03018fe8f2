export {
  cipherRangeFor,
  createDecryptStream,
  createEncryptStream,
  DEFAULT_CHUNK_BYTES,
  encryptedLength,
  HEADER_BYTES,
  TAG_BYTES,
} from './chunked-cipher';
export {
  DATA_KEY_BYTES,
  newDataKey,
  rewrapDataKey,
  unwrapDataKey,
  type WrappedDataKey,
  wrapDataKey,
} from './data-keys';
export { IntegrityError, type IntegrityFailure, UnknownMasterKeyError } from './integrity-error';
