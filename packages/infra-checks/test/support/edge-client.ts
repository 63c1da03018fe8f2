import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

export interface ClientOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The loopback address to connect from (127.0.0.2, …): each is its own client to the edge. */
  from?: string;
  /** A keep-alive agent, to send several requests over one connection. */
  agent?: https.Agent;
}

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Every value received under a header name (lower case), repeats kept apart. */
  all(name: string): string[];
}

/** Accepts the test's self-signed certificate; the edge presents it for "localhost". */
const tls = { rejectUnauthorized: false, servername: 'localhost' } as const;

export const keepAliveAgent = (): https.Agent => new https.Agent({ ...tls, keepAlive: true, maxSockets: 1 });

function allOf(res: http.IncomingMessage): (name: string) => string[] {
  return (name) => {
    const values: string[] = [];
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      if (res.rawHeaders[i]!.toLowerCase() === name) values.push(res.rawHeaders[i + 1]!);
    }
    return values;
  };
}

/** One request to the edge (https or plain http), read to the end. Never follows redirects. */
export function request(url: string, options: ClientOptions = {}): Promise<ClientResponse> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        ...tls,
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.from,
        agent: options.agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, all: allOf(res) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends only the headers of a request that declares `contentLength` bytes, and reports the
 * answer if one comes within waitMs (undefined if the server is still waiting for the body).
 */
export function declareBody(
  url: string,
  contentLength: number,
  options: { from?: string; waitMs: number },
): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      ...tls,
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(contentLength) },
      localAddress: options.from,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, options.waitMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve(res.statusCode);
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
  });
}

export interface HeldUpload {
  /** The status, if an answer arrives before abort(); undefined once aborted without one. */
  answer: Promise<number | undefined>;
  abort(): void;
}

/**
 * Starts an upload that declares `contentLength` bytes, sends only the first `sendBytes` of them
 * and holds the rest back, as a slow client in the middle of a large upload would.
 */
export function startUpload(
  url: string,
  options: {
    contentLength: number;
    sendBytes: number;
    method?: string;
    headers?: Record<string, string>;
    from?: string;
  },
): HeldUpload {
  let req: http.ClientRequest | undefined;
  let aborted = false;
  const answer = new Promise<number | undefined>((resolve, reject) => {
    req = https.request(url, {
      ...tls,
      method: options.method ?? 'PUT',
      headers: {
        'content-type': 'application/octet-stream',
        ...options.headers,
        'content-length': String(options.contentLength),
      },
      localAddress: options.from,
      agent: false,
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', (error) => (aborted ? resolve(undefined) : reject(error)));
    req.on('close', () => resolve(undefined));
    req.write(Buffer.alloc(options.sendBytes, 'x'));
  });
  return {
    answer,
    abort: () => {
      aborted = true;
      req?.destroy();
    },
  };
}

export interface StreamedEvent {
  /** Milliseconds after the request was sent. */
  atMs: number;
  data: string;
}

export interface EventStreamRead {
  status: number;
  headers: IncomingHttpHeaders;
  events: StreamedEvent[];
}

/**
 * Opens a server-sent event stream and notes when each event arrives, until `count` events
 * or `timeoutMs`; then hangs up. A gzipped stream is decoded, so its events still count.
 */
export function readEventStream(
  url: string,
  options: { headers?: Record<string, string>; from?: string; count: number; timeoutMs: number },
): Promise<EventStreamRead> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const events: StreamedEvent[] = [];
    let head: { status: number; headers: IncomingHttpHeaders } = { status: 0, headers: {} };
    const req = https.get(url, {
      ...tls,
      headers: options.headers,
      localAddress: options.from,
      agent: false,
    });
    const finish = () => {
      clearTimeout(timer);
      req.destroy();
      resolve({ ...head, events });
    };
    const timer = setTimeout(finish, options.timeoutMs);
    req.on('response', (res) => {
      head = { status: res.statusCode ?? 0, headers: res.headers };
      const stream: Readable =
        res.headers['content-encoding'] === 'gzip' ? res.pipe(zlib.createGunzip()) : res;
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let end = pending.indexOf('\n\n');
        while (end !== -1) {
          const record = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const data = record
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          events.push({ atMs: Date.now() - started, data });
          end = pending.indexOf('\n\n');
        }
        if (events.length >= options.count) finish();
      });
      stream.on('error', () => {});
      stream.on('end', finish);
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      // Our own destroy() after finishing is not an error.
      if (events.length >= options.count || head.status !== 0) resolve({ ...head, events });
      else reject(error);
    });
  });
}
