import { startRecordingServer } from '@tenantmesh/testing';

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
  /** Every notification received so far. */
  readonly received: Notification[];
  close(): Promise<void>;
}

/** Stands in for the alert relay the receivers post to: records every notification. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const server = await startRecordingServer();
  return {
    url: server.url,
    get received() {
      return server.requests.map((r) => {
        const payload = JSON.parse(r.body) as Omit<Notification, 'path' | 'authorization'>;
        return {
          path: r.url,
          authorization: r.headers.authorization,
          status: payload.status,
          receiver: payload.receiver,
          groupLabels: payload.groupLabels,
          alerts: payload.alerts.map((a) => ({ status: a.status, labels: a.labels })),
        };
      });
    },
    close: server.close,
  };
}
