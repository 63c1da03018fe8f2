import { withTenant } from '@tenantmesh/db';
import { errors, parseInput } from '@tenantmesh/http-kit';
import { clearSessionCookie } from '@tenantmesh/sessions';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type Router } from 'express';
import { z } from 'zod';
import { findUser } from '../../db/queries/find-user';
import { updateDisplayName } from '../../db/queries/update-display-name';
import type { AuthDeps } from '../../deps';
import { requestAccountDeletion } from '../../domain/request-account-deletion';

// .strict(): is_admin, role or anything else is refused with 400 — there is no self-serve admin.
const profilePatch = z.object({ displayName: z.string().trim().min(1).max(200) }).strict();

export function meRouter(deps: AuthDeps): Router {
  const router = express.Router();
  const { db } = deps.database;

  router.get('/', async (_req, res) => {
    const uid = userIdOf(res);
    const user = await withTenant(db, uid, (trx) => findUser(trx, { uid }));
    if (!user) throw errors.notFound('no such user');
    res.json({
      id: user.id,
      provider: user.provider,
      email: user.email,
      displayName: user.display_name,
      createdAt: user.created_at,
      deletionRequestedAt: user.deletion_requested_at,
      // How long after a deletion request its purge may take: the client shows the date before asking.
      accountPurgeDays: deps.accountPurgeDays,
    });
  });

  router.patch('/', async (req, res) => {
    const uid = userIdOf(res);
    const { displayName } = parseInput(profilePatch, req.body);
    await withTenant(db, uid, (trx) => updateDisplayName(trx, { uid, displayName }));
    res.status(204).end();
  });

  router.delete('/', async (_req, res) => {
    const uid = userIdOf(res);
    const { requestedAt, purgeBy } = await requestAccountDeletion(db, deps.sessions, {
      uid,
      purgeDays: deps.accountPurgeDays,
    });
    res.append('Set-Cookie', clearSessionCookie());
    res.status(202).json({ requestedAt, purgeBy });
  });

  return router;
}
