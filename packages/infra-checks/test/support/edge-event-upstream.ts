import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EventUpstreamRequest {
  url: string;
  /** Lower-cased name → every value the gateway sent under it. */
  headers: Record<string, string[]>;
}

export interface EventUpstream {
  url: string;
  requests: EventUpstreamRequest[];
  close(): Promise<void>;
}

/**
 * Stands in for the events service (not built yet) behind the gateway: records what the gateway
 * sends, then writes `data: event <n>` every intervalMs, up to maxEvents, and ends the stream.
 */
export async function startEventUpstream(
  options: { intervalMs: number; maxEvents: number } = { intervalMs: 200, maxEvents: 50 },
): Promise<EventUpstream> {
  const requests: EventUpstreamRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const headers: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      headers[name] = [...(headers[name] ?? []), req.rawHeaders[i + 1]!];
    }
    requests.push({ url: req.url ?? '', headers });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      res.write(`id: ${sent}\ndata: event ${sent}\n\n`);
      if (sent >= options.maxEvents) stop();
    }, options.intervalMs);
    timers.add(timer);
    const stop = () => {
      clearInterval(timer);
      timers.delete(timer);
      res.end();
    };
    res.on('close', stop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
