import { errors, parseInput } from '@tenantmesh/http-kit';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { JobsDeps } from '../../deps';
import { enqueueJob } from '../../domain/enqueue-job';
import { findJob, listJobs, toJobView } from '../../domain/job-views';

const newJob = z
  .object({
    type: z.string().max(64),
    payload: z.json().default({}),
    runAt: z.iso.datetime({ offset: true }).optional(),
    dedupKey: z.string().min(1).max(200).optional(),
  })
  .strict();

const listQuery = z
  .object({
    state: z.enum(['queued', 'running', 'succeeded', 'dead']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    after: z.uuid().optional(),
  })
  .strict();

export function jobsRouter(deps: JobsDeps): Router {
  const router = express.Router();

  router.post('/', async (req, res) => {
    const uid = userIdOf(res);
    const body = parseInput(newJob, req.body);
    const type = deps.types.get(body.type);
    if (!type?.userCreatable) {
      throw errors.validationFailed('unknown job type', [
        { path: 'type', message: `no job type ${body.type}` },
      ]);
    }
    const checked = type.payload.safeParse(body.payload);
    if (!checked.success) {
      throw errors.validationFailed(
        `invalid payload for ${type.type}`,
        checked.error.issues.map((i) => ({ path: ['payload', ...i.path].join('.'), message: i.message })),
      );
    }
    const { id, deduplicated } = await enqueueJob(deps, {
      uid,
      type,
      payload: checked.data,
      runAt: body.runAt ? new Date(body.runAt) : undefined,
      dedupKey: body.dedupKey,
    });
    res.status(202).json({ id, deduplicated });
  });

  router.get('/', async (req, res) => {
    const uid = userIdOf(res);
    const query = parseInput(listQuery, req.query);
    res.json(await listJobs(deps, { uid, ...query }));
  });

  router.get('/:id', async (req, res) => {
    const uid = userIdOf(res);
    const id = parseInput(z.uuid(), req.params.id);
    const job = await findJob(deps, { uid, id });
    if (!job) throw errors.notFound('no such job');
    res.json(toJobView(job));
  });

  return router;
}
