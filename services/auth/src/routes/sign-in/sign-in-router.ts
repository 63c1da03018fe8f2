import { errors } from '@tenantmesh/http-kit';
import { clearSessionCookie } from '@tenantmesh/sessions';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { upsertUser } from '../../db/queries/upsert-user';
import type { AuthDeps } from '../../deps';
import { clearOAuthCookie } from '../../sign-in/oauth-state-store';
import type { ProviderIdentity } from '../../sign-in/providers';

/**
 * /auth/providers, /auth/<provider> (→ the provider), /auth/<provider>/callback (→ session
 * cookie, redirect), /auth/logout. Every failure of the round trip is 400 sign_in_failed with a
 * stable reason, and no session.
 */
export function signInRouter(deps: AuthDeps): Router {
  const router = express.Router();
  const { passport, names, recordedAs } = deps.providers;

  router.get('/providers', (_req, res) => {
    res.json({ providers: names.map((name) => ({ name, start: `/auth/${name}` })) });
  });

  router.post('/logout', async (req, res) => {
    await deps.sessions.end(req.headers.cookie);
    res.append('Set-Cookie', clearSessionCookie());
    res.status(204).end();
  });

  for (const name of names) {
    router.get(`/${name}`, passport.authenticate(name, { session: false }));

    router.get(`/${name}/callback`, (req: Request, res: Response, next: NextFunction) => {
      res.append('Set-Cookie', clearOAuthCookie());
      passport.authenticate(
        name,
        { session: false },
        (err: unknown, identity: ProviderIdentity | false, info: unknown) => {
          completeSignIn(deps, recordedAs[name]!, req, res, { err, identity, info }).catch(next);
        },
      )(req, res, next);
    });
  }
  return router;
}

async function completeSignIn(
  deps: AuthDeps,
  provider: string,
  req: Request,
  res: Response,
  outcome: { err: unknown; identity: ProviderIdentity | false; info: unknown },
): Promise<void> {
  const { err, identity, info } = outcome;
  if (typeof req.query.error === 'string') {
    throw errors.signInFailed('provider_error', 'the provider did not sign you in');
  }
  if ((info as { message?: string } | undefined)?.message === 'state_invalid') {
    throw errors.signInFailed(
      'state_invalid',
      'this sign-in link is invalid, expired or already used; start again',
    );
  }
  if (err) {
    deps.logger.warn('sign-in failed at the provider', { provider, err });
    throw errors.signInFailed('code_rejected', 'the provider refused the sign-in');
  }
  if (!identity || identity.provider !== provider) {
    throw errors.signInFailed('profile_invalid', 'the provider returned no usable identity');
  }
  const uid = await upsertUser(deps.database.db, identity);
  const { setCookie } = await deps.sessions.start(uid, req.get('user-agent'));
  res.append('Set-Cookie', setCookie);
  deps.logger.info('signed in', { provider, uid });
  // 303: the browser follows with GET; the cookie (SameSite=Lax) rides along on our own origin.
  res.redirect(303, deps.afterSignInPath);
}
