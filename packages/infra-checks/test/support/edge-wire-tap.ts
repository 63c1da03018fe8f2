import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TappedRequest {
  method: string;
  url: string;
  /** Lower-cased name → every value nginx sent under it (repeats kept apart). */
  headers: Record<string, string[]>;
  bodyBytes: number;
}

export interface WireTap {
  /** host:port, for nginx's upstream. */
  address: string;
  seen: TappedRequest[];
  close(): Promise<void>;
}

// Hop-by-hop: they describe the connection, which the tap opens afresh.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade']);

/**
 * A recording pass-through between nginx and the gateway: it keeps the request headers exactly as
 * nginx wrote them (which is what the gateway reads) and streams both ways without buffering, so
 * event streams pass as they are written.
 */
export async function startWireTap(target: { host: string; port: number }): Promise<WireTap> {
  const seen: TappedRequest[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const headers: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      headers[name] = [...(headers[name] ?? []), req.rawHeaders[i + 1]!];
    }
    const tapped: TappedRequest = { method: req.method ?? '', url: req.url ?? '', headers, bodyBytes: 0 };
    seen.push(tapped);
    req.on('data', (chunk: Buffer) => {
      tapped.bodyBytes += chunk.length;
    });

    const forward: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) forward[name] = value;
    const upstream = http.request(
      { ...target, agent, method: req.method, path: req.url, headers: forward },
      (upstreamRes) => {
        const answer: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamRes.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) answer[name] = value;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, answer);
        res.flushHeaders();
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => {
      upstream.destroy();
      // An answer may come before the whole body (a 404 to an upload): read the rest anyway, as
      // any node server does, so nginx can reuse the connection.
      req.unpipe(upstream);
      req.resume();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
