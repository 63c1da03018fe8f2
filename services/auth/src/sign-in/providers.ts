import type { OneTimeStore } from '@tenantmesh/sessions';
import { Passport } from 'passport';
import { Strategy as GoogleStrategy, type StrategyOptions } from 'passport-google-oauth20';
import { Strategy as OidcStrategy } from 'passport-openidconnect';
import type { AuthConfig } from '../config';
import { OAuthStateStore } from './oauth-state-store';

/** Who the provider says signed in; the account is found by (provider, subject), never by email. */
export interface ProviderIdentity {
  provider: string;
  subject: string;
  email: string | null;
  displayName: string | null;
}

export interface SignInProviders {
  passport: InstanceType<typeof Passport>;
  /** Enabled provider route names, e.g. ['google', 'oidc']. */
  names: string[];
  /** What user_sessions.provider records for a route name. */
  recordedAs: Record<string, string>;
}

const SCOPES = ['openid', 'email', 'profile'];

/**
 * Passport with the configured strategies. Provider URLs come from config, so the same Google
 * strategy code runs against Google in production and against a local OAuth server in dev/tests.
 */
export function createSignInProviders(
  settings: AuthConfig['signIn'],
  secrets: { google?: string; oidc?: string },
  once: OneTimeStore,
): SignInProviders {
  const passport = new Passport();
  const names: string[] = [];
  const recordedAs: Record<string, string> = {};

  if (settings.google && secrets.google) {
    const options = {
      clientID: settings.google.clientId,
      clientSecret: secrets.google,
      callbackURL: `${settings.publicOrigin}/auth/google/callback`,
      authorizationURL: settings.google.authorizationUrl,
      tokenURL: settings.google.tokenUrl,
      userProfileURL: settings.google.userInfoUrl,
      scope: SCOPES,
      // passport-oauth2 options the google typings do not list:
      pkce: true,
      store: new OAuthStateStore(once, 'google').forOAuth2(),
    } as unknown as StrategyOptions;
    passport.use(
      'google',
      new GoogleStrategy(options, (_accessToken, _refreshToken, profile, done) => {
        done(null, identityOf('google', profile.id, profile.emails?.[0]?.value, profile.displayName));
      }),
    );
    names.push('google');
    recordedAs.google = 'google';
  }

  if (settings.oidc && secrets.oidc) {
    const name = settings.oidc.name;
    passport.use(
      name,
      new OidcStrategy(
        {
          issuer: settings.oidc.issuer,
          authorizationURL: settings.oidc.authorizationUrl,
          tokenURL: settings.oidc.tokenUrl,
          userInfoURL: settings.oidc.userInfoUrl,
          clientID: settings.oidc.clientId,
          clientSecret: secrets.oidc,
          callbackURL: `${settings.publicOrigin}/auth/${name}/callback`,
          scope: ['email', 'profile'],
          nonce: true,
          store: new OAuthStateStore(once, name).forOpenIdConnect(),
        },
        (_issuer, profile, done) =>
          done(null, identityOf(`oidc:${name}`, profile.id, profile.emails?.[0]?.value, profile.displayName)),
      ),
    );
    names.push(name);
    recordedAs[name] = `oidc:${name}`;
  }
  return { passport, names, recordedAs };
}

function identityOf(
  provider: string,
  subject: unknown,
  email: unknown,
  displayName: unknown,
): ProviderIdentity | false {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255) return false;
  return {
    provider,
    subject,
    email: typeof email === 'string' && email.length <= 320 ? email : null,
    displayName: typeof displayName === 'string' ? displayName.slice(0, 200) : null,
  };
}
