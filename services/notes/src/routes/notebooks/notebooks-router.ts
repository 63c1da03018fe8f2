import { withTenant } from '@tenantmesh/db';
import { errors, parseInput } from '@tenantmesh/http-kit';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type Router } from 'express';
import { z } from 'zod';
import { createNotebook } from '../../db/queries/create-notebook';
import { findNotebook } from '../../db/queries/find-notebook';
import { listNotebooks } from '../../db/queries/list-notebooks';
import { listNotes } from '../../db/queries/list-notes';
import type { NotesDeps } from '../../deps';
import { addNote } from '../../domain/add-note';

// .strict(): unknown fields (user_id, is_admin, role…) are refused, not silently ignored.
const newNotebook = z.object({ title: z.string().trim().min(1).max(200) }).strict();
const newNote = z.object({ body: z.string().max(10_000) }).strict();
const notebookId = z.uuid();

export function notebooksRouter(deps: NotesDeps): Router {
  const router = express.Router();
  const { db } = deps.database;

  router.get('/', async (_req, res) => {
    const uid = userIdOf(res);
    res.json({ notebooks: await withTenant(db, uid, (trx) => listNotebooks(trx, { uid })) });
  });

  router.post('/', async (req, res) => {
    const uid = userIdOf(res);
    const { title } = parseInput(newNotebook, req.body);
    res.status(201).json(await withTenant(db, uid, (trx) => createNotebook(trx, { uid, title })));
  });

  router.get('/:id/notes', async (req, res) => {
    const uid = userIdOf(res);
    const id = parseInput(notebookId, req.params.id);
    const notes = await withTenant(db, uid, async (trx) => {
      if (!(await findNotebook(trx, { uid, notebookId: id }))) throw errors.notFound('no such notebook');
      return listNotes(trx, { uid, notebookId: id });
    });
    res.json({ notes });
  });

  router.post('/:id/notes', async (req, res) => {
    const uid = userIdOf(res);
    const id = parseInput(notebookId, req.params.id);
    const { body } = parseInput(newNote, req.body);
    res.status(201).json(await addNote(deps.database, { uid, notebookId: id, body }));
  });

  return router;
}
