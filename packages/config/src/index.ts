export { ConfigError } from './errors';
export { KeyRing, MIN_KEY_BYTES, parseKeyRing, type RingKey, type KeyRingOptions } from './key-ring';
export {
  loadConfig,
  textSecret,
  keyRingSecret,
  type SecretSpec,
  type LoadedConfig,
} from './load-config';
export { DEFAULT_SECRETS_DIR, fileVariableFor, resolveSecretPath, readSecretFile, type Env } from './secret-files';
export { envBoolean, port, httpSettings, observabilitySettings, redisSettings } from './common-settings';
