import { context, propagation, trace } from '@opentelemetry/api';

export interface TracingOptions {
  service: string;
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://tempo:4318. Tracing is off without it. */
  otlpEndpoint?: string | undefined;
  /** Request paths not worth a trace: scrapes and probes arrive every few seconds and say nothing.
   *  Defaults to http-kit's /metrics, /healthz and /readyz. */
  untracedPaths?: readonly string[];
}

export interface Tracing {
  /** Exports the spans still buffered, then stops tracing. Safe to call more than once. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK: spans for incoming and outgoing HTTP and for express routing, W3C
 * traceparent propagation across service hops, export over OTLP/HTTP. Resolves to undefined, having
 * done nothing, when no endpoint is configured.
 *
 * Call it first in main.ts and load the app only after it resolves (`require('./server')` or
 * `await import(...)`, not a top-level import): instrumentations work by patching modules as they are
 * required, so express and anything holding a reference to http.request must be loaded after start.
 */
export async function startTracing({
  service,
  otlpEndpoint,
  untracedPaths = ['/metrics', '/healthz', '/readyz'],
}: TracingOptions): Promise<Tracing | undefined> {
  if (!otlpEndpoint) return undefined;

  // Loaded here rather than imported at the top: the SDK and its exporters take a few hundred ms to load,
  // a cost every process (and every test file) would pay even with tracing off.
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { defaultResource, resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { ATTR_SERVICE_NAME } =
    require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions');

  const instrumentations = [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => untracedPaths.includes(pathOf(req.url)),
    }),
    new ExpressInstrumentation(),
  ];
  const sdk = new NodeSDK({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: service })),
    // Also as serviceName, which the SDK applies last, so a stray OTEL_SERVICE_NAME cannot relabel us.
    serviceName: service,
    traceExporter: new OTLPTraceExporter({ url: tracesUrl(otlpEndpoint) }),
    instrumentations,
    // Metrics go through prom-client and logs to stdout. Left unset, the SDK would start OTLP metric and
    // log exporters of its own, aimed at localhost:4318 by default.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    try {
      await sdk.shutdown();
    } finally {
      // NodeSDK.shutdown flushes and closes the providers but leaves modules patched and the API globals
      // set; undo both so a later start (another test, a restart in-process) begins clean.
      for (const instrumentation of instrumentations) instrumentation.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  };
  return { shutdown: () => (stopping ??= stop()) };
}

/** The traces URL for an OTLP base endpoint, which per the OTLP spec excludes the signal path. */
export function tracesUrl(otlpEndpoint: string): string {
  return `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
}

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}
