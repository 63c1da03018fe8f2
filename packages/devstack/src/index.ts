export { ensureDevSecrets, TOKEN_PAIRS } from './dev-secrets';
export {
  type EmbeddedPostgresOptions,
  type RunningPostgres,
  startEmbeddedPostgres,
  untraversableParent,
} from './embedded-postgres';
export { freePort, isListening } from './free-port';
export { type DevService, discoverServices } from './services';
