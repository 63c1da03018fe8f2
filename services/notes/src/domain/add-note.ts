import { type Database, withTenant } from '@tenantmesh/db';
import { errors } from '@tenantmesh/http-kit';
import { createNote } from '../db/queries/create-note';
import { findNotebook } from '../db/queries/find-notebook';

/** Another tenant's notebook is indistinguishable from a missing one: 404 either way. */
export function addNote(database: Database, args: { uid: string; notebookId: string; body: string }) {
  return withTenant(database.db, args.uid, async (trx) => {
    if (!(await findNotebook(trx, args))) throw errors.notFound('no such notebook');
    return createNote(trx, args);
  });
}
