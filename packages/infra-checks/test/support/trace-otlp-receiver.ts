import { startRecordingServer } from '@tenantmesh/testing';

export interface OtlpExport {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

export interface OtlpReceiver {
  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  endpoint: string;
  /** Every export received so far. */
  readonly received: OtlpExport[];
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP collector, as Tempo would be: accepts every export and keeps it. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server = await startRecordingServer({ contentType: 'application/json', body: '{}' });
  return {
    endpoint: server.url,
    get received() {
      return server.requests.map((r) => ({
        method: r.method,
        url: r.url,
        contentType: r.headers['content-type'] ?? '',
        body: r.body,
      }));
    },
    close: server.close,
  };
}
