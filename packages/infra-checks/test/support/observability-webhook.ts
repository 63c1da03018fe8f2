import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One notification Alertmanager posted (webhook payload version 4). */
export interface Notification {
  path: string;
  authorization: string | undefined;
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

export interface WebhookSink {
  /** Base URL; a receiver's notifications go to `<url>/<receiver>`. */
  url: string;
  received: Notification[];
  close(): Promise<void>;
}

/** Stands in for the alert relay the receivers post to: records every notification. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const received: Notification[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const payload = JSON.parse(body) as Omit<Notification, 'path' | 'authorization'>;
      received.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        status: payload.status,
        receiver: payload.receiver,
        groupLabels: payload.groupLabels,
        alerts: payload.alerts.map((a) => ({ status: a.status, labels: a.labels })),
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
