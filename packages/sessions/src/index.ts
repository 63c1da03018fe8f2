export { MemoryOneTimeStore, type OneTimeStore, RedisOneTimeStore } from './one-time-store';
export {
  type CachedSession,
  MemorySessionCache,
  RedisSessionCache,
  type SessionCache,
} from './session-cache';
export {
  clearSessionCookie,
  cookieValues,
  MAX_COOKIE_VALUE_LENGTH,
  newSessionId,
  SESSION_COOKIE,
  sessionSetCookie,
  signSessionId,
  verifySessionCookie,
} from './session-cookie';
export {
  type ResolvedSession,
  SESSION_REVOKED_CHANNEL,
  type SessionPolicy,
  SessionService,
} from './session-service';
export { sessionSecrets, sessionSettings } from './settings';
