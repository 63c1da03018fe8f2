export { createLogger, type Logger, type LoggerOptions, type LogLevel } from './create-logger';
export { createMetrics, type Metrics, type MetricsOptions, routePatternOf, UNMATCHED_ROUTE } from './metrics';
export { isSensitiveKey, REDACTED, redact, scrubString } from './redact';
export {
  currentRequestId,
  type RequestContext,
  requestContext,
  runWithRequestContext,
} from './request-context';
export { startTracing, type Tracing, type TracingOptions, tracesUrl } from './tracing';
