import { errors, parseInput } from '@tenantmesh/http-kit';
import { userIdOf } from '@tenantmesh/user-token';
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { EventsDeps } from '../../deps';
import { EventStream } from '../../domain/event-stream';
import { publishEvents } from '../../domain/publish-event';

const MAX_DATA_BYTES = 16 * 1024;
/** Events in one batch. The whole body is also capped by the JSON parser (100 KiB, http-kit's default): 413. */
const MAX_BATCH_EVENTS = 100;

const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . -; at most 64');
// A body may name its user, but only the token's (checked below).
const namedUser = {
  uid: z.string().optional(),
  userId: z.string().optional(),
  user_id: z.string().optional(),
};

// .strict(): unknown fields are refused, so a body is exactly one of the two forms.
const newEvent = z.object({ type: eventType, data: z.json(), ...namedUser }).strict();
const newEvents = z
  .object({
    events: z
      .array(z.object({ type: eventType, data: z.json() }).strict())
      .min(1)
      .max(MAX_BATCH_EVENTS),
    ...namedUser,
  })
  .strict();

/** `{ events: [...] }` is the batch form (a body with `events` and `type` is refused as a batch). */
function isBatch(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, 'events');
}

function checkDataSize(data: unknown, what: string): void {
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) {
    throw errors.payloadTooLarge(`${what} may be at most ${MAX_DATA_BYTES} bytes of JSON`);
  }
}

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

  // One event `{ type, data }` → 201 `{ id }`; a batch `{ events: [{ type, data }, …] }` (1 to 100)
  // → 201 `{ ids }`, in order. Either way one transaction, through the same publishEvents.
  router.post('/', async (req, res) => {
    const uid = userIdOf(res);
    const batch = isBatch(req.body);
    const body = batch ? parseInput(newEvents, req.body) : parseInput(newEvent, req.body);
    for (const named of [body.uid, body.userId, body.user_id]) {
      if (named !== undefined && named !== uid) throw errors.foreignNamespace();
    }
    const events = 'events' in body ? body.events : [{ type: body.type, data: body.data }];
    events.forEach((event, i) => {
      checkDataSize(event.data, batch ? `events[${i}].data` : 'event data');
    });
    const stored = await publishEvents(deps, { uid, events });
    if (batch) res.status(201).json({ ids: stored.map((event) => String(event.seq)) });
    else res.status(201).json({ id: String(stored[0]!.seq) });
  });

  return router;
}
