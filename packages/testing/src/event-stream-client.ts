import http from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface ReceivedEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface EventStreamClient {
  /** The response status and headers, once they arrived. */
  readonly response: Promise<{ status: number; headers: http.IncomingHttpHeaders; body?: string }>;
  /** Every event received so far, in order. */
  readonly events: ReceivedEvent[];
  /** `retry:` values and comment lines (heartbeats), in order. */
  readonly retries: number[];
  readonly comments: string[];
  /** Resolves when the server ended the stream (or the socket failed). */
  readonly ended: Promise<void>;
  /** Resolves once `predicate` holds for the events so far; rejects after timeoutMs. */
  waitFor(predicate: (events: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * A test client for server-sent events over plain node:http (Node 20 has no EventSource), parsed
 * with eventsource-parser. Non-200 answers resolve `response` with the body (problem documents).
 */
export function openEventStream(url: string, headers: Record<string, string> = {}): EventStreamClient {
  const events: ReceivedEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  let resolveEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      events.push({ id: message.id, event: message.event, data: message.data });
      notify();
    },
    onRetry: (ms) => retries.push(ms),
    onComment: (comment) => comments.push(comment),
  });
  let request: http.ClientRequest | undefined;
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body?: string }>(
    (resolve, reject) => {
      request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            resolveEnded();
          });
          return;
        }
        resolve({ status: 200, headers: res.headers });
        res.on('data', (chunk: string) => parser.feed(chunk));
        res.on('close', () => {
          resolveEnded();
          notify();
        });
        res.on('error', () => {});
      });
      request.on('error', (error) => {
        reject(error);
        resolveEnded();
      });
    },
  );
  response.catch(() => {});
  return {
    response,
    events,
    retries,
    comments,
    ended,
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(events)) {
          resolve();
          return;
        }
        const check = () => {
          if (!predicate(events)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`condition not met within ${timeoutMs} ms; ${events.length} events so far`));
        }, timeoutMs);
        waiters.add(check);
      }),
    close: () => request?.destroy(),
  };
}
