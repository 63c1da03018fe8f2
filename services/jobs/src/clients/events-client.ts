import http from 'node:http';
import https from 'node:https';
import type { KeyRing } from '@tenantmesh/config';
import { isUid, mintUserToken, USER_TOKEN_HEADER } from '@tenantmesh/user-token';
import type { EventsClient } from '../job-types';
import { readText, upstreamErrorOf } from './files-client';

const SERVICE = 'events';
const DEFAULT_TIMEOUT_MS = 10_000;
/** The answer is `{id}` / `{ids}` or a problem document: small. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface EventsClientOptions {
  /** The events service, e.g. `http://events:3003` (a path prefix is kept). */
  baseUrl: string;
  /** The jobs→events key ring. */
  ring: Pick<KeyRing, 'signingKey'>;
  uid: string;
  timeoutMs?: number;
}

/**
 * Publishes to ONE user's event stream: `POST /events` with a fresh token minted by `jobs` for
 * `uid`, so the events service stores the event (or the batch, `publishMany`) for that user and
 * nobody else. A non-2xx answer is an UpstreamError (403 foreign_namespace, 413
 * payload_too_large, 400 validation_failed…).
 */
export function createEventsClient(options: EventsClientOptions): EventsClient {
  const { ring, uid } = options;
  if (!isUid(uid)) throw new TypeError('the events client needs a lowercase UUID uid');
  const url = new URL(options.baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`events baseUrl must be http(s), got ${url.protocol}`);
  }
  const transport = url.protocol === 'https:' ? https : http;
  const target = {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || undefined,
    path: `${url.pathname.replace(/\/+$/, '')}/events`,
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /**
   * One POST /events with a fresh jobs→events token; anything but 201 is an UpstreamError. Plain
   * node:http on the (keep-alive) global agent: a worker posts often, and fetch costs several
   * times the CPU per request.
   */
  const post = (body: unknown): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = transport.request(
        {
          ...target,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': String(payload.length),
            [USER_TOKEN_HEADER]: mintUserToken({ issuer: 'jobs', audience: SERVICE, uid, ring }),
          },
        },
        (res) => {
          readText(res, MAX_ANSWER_BYTES).then((text) => {
            if (res.statusCode === 201) resolve();
            else reject(upstreamErrorOf(SERVICE, res.statusCode ?? 0, text));
          }, reject);
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`events request timed out after ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });

  return {
    publish: (type, data) => post({ type, data }),
    // The batch form: `{ events }`, stored in one transaction as consecutive seqs, in order.
    publishMany: (events) => post({ events: events.map(({ type, data }) => ({ type, data })) }),
  };
}
