import { errors, parseInput } from '@tenantmesh/http-kit';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { EventsDeps } from '../../deps';
import { EventStream } from '../../domain/event-stream';
import { publishEvent } from '../../domain/publish-event';

const MAX_DATA_BYTES = 16 * 1024;

// .strict(): unknown fields are refused. A body may name its user, but only the token's.
const newEvent = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . -; at most 64'),
    data: z.json(),
    uid: z.string().optional(),
    userId: z.string().optional(),
    user_id: z.string().optional(),
  })
  .strict();

const EVENT_ID = /^\d{1,15}$/;

/** Last-Event-ID (header, as browsers send it on reconnect) or ?lastEventId= (first connect). */
function lastEventIdOf(req: Request): number | undefined {
  const header = req.headers['last-event-id'];
  const query = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
  const raw = (typeof header === 'string' ? header : undefined) ?? query;
  if (raw === undefined || raw === '') return undefined;
  if (!EVENT_ID.test(raw.trim()))
    throw errors.badRequest('Last-Event-ID must be an event id (a decimal number)');
  return Number(raw.trim());
}

export function eventsRouter(deps: EventsDeps): Router {
  const router = express.Router();

  router.get('/', async (req, res) => {
    const uid = userIdOf(res);
    await EventStream.open(deps, { uid, lastEventId: lastEventIdOf(req), res });
  });

  router.post('/', async (req, res) => {
    const uid = userIdOf(res);
    const body = parseInput(newEvent, req.body);
    for (const named of [body.uid, body.userId, body.user_id]) {
      if (named !== undefined && named !== uid) throw errors.foreignNamespace();
    }
    if (Buffer.byteLength(JSON.stringify(body.data)) > MAX_DATA_BYTES) {
      throw errors.payloadTooLarge(`event data may be at most ${MAX_DATA_BYTES} bytes of JSON`);
    }
    const event = await publishEvent(deps, { uid, type: body.type, data: body.data });
    res.status(201).json({ id: String(event.seq) });
  });

  return router;
}
