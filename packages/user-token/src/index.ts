export {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_HEADER_BYTES,
  MAX_TOKEN_TTL_SECONDS,
  USER_TOKEN_HEADER,
} from './constants';
export { isUid } from './identifiers';
export { type MintUserTokenOptions, mintUserToken } from './mint-user-token';
export { type RequireUserOptions, requireUser, userIdOf } from './require-user';
export {
  type TokenKeyPlan,
  type TokenKeys,
  tokenKeySecretName,
  tokenKeySecrets,
  tokenKeysFrom,
  watchTokenKeys,
} from './token-keys';
export { type VerifiedUser, type VerifyUserTokenOptions, verifyUserToken } from './verify-user-token';
