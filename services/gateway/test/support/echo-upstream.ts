import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  /** Lower-cased name → every value received under it (repeats kept apart). */
  headers: Record<string, string[]>;
  body: string;
}

export interface EchoUpstream {
  url: string;
  received: ReceivedRequest[];
  /** Replaces the default answer (200 JSON) for the next requests. */
  respondWith(handler: http.RequestListener | undefined): void;
  close(): Promise<void>;
}

/**
 * A stand-in for a service that does not exist yet (files, events, jobs) or whose exact view of a
 * request a test must see (auth): it records every request's headers as they arrived.
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: ReceivedRequest[] = [];
  let custom: http.RequestListener | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string[]> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        headers[name] = [...(headers[name] ?? []), req.rawHeaders[i + 1]!];
      }
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (custom) return custom(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echoed: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith: (handler) => {
      custom = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
