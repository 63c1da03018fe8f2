export { freePort, isListening } from './free-port';
export { startEmbeddedPostgres, untraversableParent, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded-postgres';
