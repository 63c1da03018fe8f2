// passport-openidconnect ships no types; this is the part we use.
declare module 'passport-openidconnect' {
  import type { Strategy as PassportStrategy } from 'passport';
  export interface OidcProfile {
    id: string;
    displayName?: string;
    emails?: { value: string }[];
  }
  export interface OidcOptions {
    issuer: string;
    authorizationURL: string;
    tokenURL: string;
    userInfoURL: string;
    clientID: string;
    clientSecret: string;
    callbackURL: string;
    scope?: string[];
    nonce?: boolean;
    store?: unknown;
  }
  export class Strategy extends PassportStrategy {
    constructor(
      options: OidcOptions,
      verify: (
        issuer: string,
        profile: OidcProfile,
        done: (err: Error | null, user?: unknown) => void,
      ) => void,
    );
    name: string;
  }
}
