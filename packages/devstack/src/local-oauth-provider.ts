import { OAuth2Server } from 'oauth2-mock-server';

export interface LocalIdentity {
  sub: string;
  email: string;
  name: string;
}

export interface LocalOAuthProvider {
  /** Issuer base URL: /authorize, /token, /userinfo, /jwks, /.well-known/openid-configuration. */
  url: string;
  /** Who the next sign-ins are (userinfo and id_token `sub`, email, name). */
  signInAs(identity: LocalIdentity): void;
  /** Make the next token request fail as a provider would (e.g. invalid_grant). */
  failNextTokenRequest(error: string): void;
  server: OAuth2Server;
  stop(): Promise<void>;
}

export const DEV_IDENTITY: LocalIdentity = { sub: 'dev-user-1', email: 'dev@example.test', name: 'Dev User' };

/**
 * A local OAuth 2.0 / OpenID Connect provider (npm oauth2-mock-server) so sign-in works offline:
 * `pnpm start` points the auth service's Google strategy at it, and tests drive real redirects,
 * token exchanges (with PKCE and nonce checks) and userinfo calls against it.
 */
export async function startLocalOAuthProvider(port: number, host = '127.0.0.1'): Promise<LocalOAuthProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(port, host);
  let identity = DEV_IDENTITY;
  let failNext: string | undefined;
  server.service.on('beforeUserinfo', (response: { body: Record<string, unknown> }) => {
    response.body = { sub: identity.sub, email: identity.email, email_verified: true, name: identity.name };
  });
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.sub = identity.sub;
    token.payload.email = identity.email;
    token.payload.name = identity.name;
  });
  server.service.on('beforeResponse', (response: { statusCode: number; body: unknown }) => {
    if (!failNext) return;
    response.statusCode = 400;
    response.body = { error: failNext };
    failNext = undefined;
  });
  return {
    url: server.issuer.url!,
    signInAs: (next) => {
      identity = next;
    },
    failNextTokenRequest: (error) => {
      failNext = error;
    },
    server,
    stop: () => server.stop(),
  };
}
