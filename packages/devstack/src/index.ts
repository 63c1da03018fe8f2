export { ensureDevSecrets, TOKEN_PAIRS } from './dev-secrets';
export {
  type EmbeddedPostgresOptions,
  type RunningPostgres,
  startEmbeddedPostgres,
  untraversableParent,
} from './embedded-postgres';
export { freePort, isListening } from './free-port';
export {
  DEV_IDENTITY,
  type LocalIdentity,
  type LocalOAuthProvider,
  startLocalOAuthProvider,
} from './local-oauth-provider';
export { startRedisServer } from './redis-server';
export { type DevService, discoverServices } from './services';
