import type { Metrics } from '@tenantmesh/observability';
import { Counter, Gauge } from 'prom-client';

export type UploadOutcome = 'stored' | 'too_large' | 'quota' | 'aborted' | 'failed';

export interface FilesMetrics {
  uploadedBytes: Counter;
  downloadedBytes: Counter;
  uploads: Counter<'outcome'>;
  integrityFailures: Counter;
  rewrappedKeys: Counter;
}

/**
 * The files service's own series (infra/observability/README.md lists the contract). The
 * data-keys-by-kid gauge is read from PostgreSQL at scrape time by `countKeys`.
 */
export function createFilesMetrics(
  metrics: Metrics,
  countKeys: () => Promise<readonly { kid: string; objects: number }[]>,
): FilesMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'tenantmesh_files_keys_wrapped',
    help: 'Data keys wrapped by each master key (kid); an old key may leave the ring at 0.',
    labelNames: ['kid'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { kid, objects } of await countKeys()) this.set({ kid }, objects);
    },
  });
  return {
    uploadedBytes: new Counter({
      name: 'tenantmesh_files_uploaded_bytes_total',
      help: 'Plaintext bytes of stored uploads.',
      registers,
    }),
    downloadedBytes: new Counter({
      name: 'tenantmesh_files_downloaded_bytes_total',
      help: 'Plaintext bytes sent to clients.',
      registers,
    }),
    uploads: new Counter({
      name: 'tenantmesh_files_uploads_total',
      help: 'Uploads by outcome: stored, too_large, quota, aborted, failed.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    integrityFailures: new Counter({
      name: 'tenantmesh_files_integrity_failures_total',
      help: 'Reads whose stored bytes or wrapped key failed authentication (tampering or corruption).',
      registers,
    }),
    rewrappedKeys: new Counter({
      name: 'tenantmesh_files_rewrapped_keys_total',
      help: 'Data keys re-wrapped under the active master key.',
      registers,
    }),
  };
}
