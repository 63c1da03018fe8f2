export {
  envBoolean,
  httpSettings,
  observabilitySettings,
  port,
  redisSecrets,
  redisSettings,
} from './common-settings';
export { ConfigError } from './errors';
export { KeyRing, type KeyRingOptions, MIN_KEY_BYTES, parseKeyRing, type RingKey } from './key-ring';
export {
  keyRingSecret,
  type LoadedConfig,
  loadConfig,
  type SecretSpec,
  textSecret,
} from './load-config';
export {
  DEFAULT_SECRETS_DIR,
  type Env,
  fileVariableFor,
  readSecretFile,
  resolveSecretPath,
} from './secret-files';
