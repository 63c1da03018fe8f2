import {
  ConfigError,
  type Env,
  httpSettings,
  loadConfig,
  observabilitySettings,
  redisSecrets,
  redisSettings,
  textSecret,
} from '@tenantmesh/config';
import { databaseSecrets, databaseSettings } from '@tenantmesh/db';
import { sessionSecrets, sessionSettings } from '@tenantmesh/sessions';
import { type TokenKeyPlan, tokenKeySecrets } from '@tenantmesh/user-token';
import { z } from 'zod';

export const SERVICE = 'auth';
export const DEFAULT_PORT = 3001;

/** auth answers /api/me for tokens minted by the gateway; it signs no tokens. */
export const tokenKeyPlan: TokenKeyPlan = { service: SERVICE, audiences: [], trustedIssuers: ['gateway'] };

const url = z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

export const signInSettings = z
  .object({
    PUBLIC_ORIGIN: url.refine(
      (u) => new URL(u).origin === u.replace(/\/$/, ''),
      'must be an origin, e.g. https://app.example.com',
    ),
    AFTER_SIGN_IN_PATH: z.string().startsWith('/').default('/'),
    ACCOUNT_PURGE_DAYS: z.coerce.number().int().min(1).max(30).default(30),
    GOOGLE_CLIENT_ID: z.string().min(1).optional(),
    GOOGLE_AUTHORIZATION_URL: url.default('https://accounts.google.com/o/oauth2/v2/auth'),
    GOOGLE_TOKEN_URL: url.default('https://oauth2.googleapis.com/token'),
    GOOGLE_USERINFO_URL: url.default('https://openidconnect.googleapis.com/v1/userinfo'),
    OIDC_PROVIDER_NAME: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}$/)
      .default('oidc'),
    OIDC_ISSUER: url.optional(),
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    OIDC_AUTHORIZATION_URL: url.optional(),
    OIDC_TOKEN_URL: url.optional(),
    OIDC_USERINFO_URL: url.optional(),
  })
  .superRefine((e, ctx) => {
    if (!e.OIDC_ISSUER) return;
    for (const key of [
      'OIDC_CLIENT_ID',
      'OIDC_AUTHORIZATION_URL',
      'OIDC_TOKEN_URL',
      'OIDC_USERINFO_URL',
    ] as const) {
      if (!e[key])
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required when OIDC_ISSUER is set' });
    }
  })
  .transform((e) => ({
    publicOrigin: e.PUBLIC_ORIGIN.replace(/\/$/, ''),
    afterSignInPath: e.AFTER_SIGN_IN_PATH,
    accountPurgeDays: e.ACCOUNT_PURGE_DAYS,
    google: e.GOOGLE_CLIENT_ID
      ? {
          clientId: e.GOOGLE_CLIENT_ID,
          authorizationUrl: e.GOOGLE_AUTHORIZATION_URL,
          tokenUrl: e.GOOGLE_TOKEN_URL,
          userInfoUrl: e.GOOGLE_USERINFO_URL,
        }
      : undefined,
    oidc: e.OIDC_ISSUER
      ? {
          name: e.OIDC_PROVIDER_NAME,
          issuer: e.OIDC_ISSUER,
          clientId: e.OIDC_CLIENT_ID!,
          authorizationUrl: e.OIDC_AUTHORIZATION_URL!,
          tokenUrl: e.OIDC_TOKEN_URL!,
          userInfoUrl: e.OIDC_USERINFO_URL!,
        }
      : undefined,
  }));

export function loadAuthConfig(env: Env) {
  const config = loadConfig(env, {
    settings: {
      http: httpSettings(DEFAULT_PORT),
      observability: observabilitySettings,
      db: databaseSettings,
      redis: redisSettings,
      sessions: sessionSettings,
      signIn: signInSettings,
    },
    secrets: {
      ...databaseSecrets,
      ...sessionSecrets,
      ...redisSecrets,
      googleClientSecret: textSecret('google_client_secret', { optional: true }),
      oidcClientSecret: textSecret('oidc_client_secret', { optional: true }),
      ...tokenKeySecrets(tokenKeyPlan),
    },
  });
  // A provider is on when its client id is set; then its secret file must exist too.
  const missing: string[] = [];
  if (config.signIn.google && !config.secrets.googleClientSecret)
    missing.push('secret google_client_secret is required when GOOGLE_CLIENT_ID is set');
  if (config.signIn.oidc && !config.secrets.oidcClientSecret)
    missing.push('secret oidc_client_secret is required when OIDC_ISSUER is set');
  if (!config.signIn.google && !config.signIn.oidc)
    missing.push('no sign-in provider: set GOOGLE_CLIENT_ID and/or OIDC_ISSUER');
  if (missing.length) throw new ConfigError(missing);
  return config;
}

export type AuthConfig = ReturnType<typeof loadAuthConfig>;
