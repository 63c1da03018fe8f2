import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordingServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order, with its whole body. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP peer for systems we do not run here (an OTLP collector, an alert relay): it accepts
 * every request, answers with `reply`, and keeps what arrived for the test to read.
 */
export async function startRecordingServer(
  reply: { status?: number; contentType?: string; body?: string } = {},
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (reply.contentType) res.setHeader('content-type', reply.contentType);
      res.writeHead(reply.status ?? 200).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
