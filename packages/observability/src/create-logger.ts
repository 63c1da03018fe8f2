import { isSpanContextValid, trace } from '@opentelemetry/api';
import winston, { type Logger } from 'winston';
import { redact } from './redact';
import { currentRequestId } from './request-context';

export type { Logger } from 'winston';

/** winston's npm levels; the config package offers the first five through LOG_LEVEL. */
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** json for anything a machine reads (Loki); pretty for a developer's terminal. */
  format?: 'json' | 'pretty';
  /** Where lines go instead of stdout; tests use it to read what was logged. */
  stream?: NodeJS.WritableStream;
}

// The fields every line starts with, in this order, so a human scanning raw JSON finds them first.
const LEADING_FIELDS = ['timestamp', 'level', 'service', 'message', 'trace_id', 'span_id', 'request_id'];

/** Creates a logger whose every line is redacted and correlated with the current trace and request. */
export function createLogger({ service, level = 'info', format = 'json', stream }: LoggerOptions): Logger {
  const transport = stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console();
  // Colours only help a terminal; in a captured stream they are noise.
  const target = stream ?? process.stdout;
  const colours = format === 'pretty' && 'isTTY' in target && target.isTTY === true;
  return winston.createLogger({
    level,
    format: winston.format.combine(
      addCorrelation({ service }),
      // Redaction is a format, not a helper callers must remember: nothing reaches a transport unredacted.
      redactSecrets(),
      format === 'pretty' ? formatPretty(colours) : winston.format.json({ deterministic: false }),
    ),
    transports: [transport],
  });
}

const addCorrelation = winston.format((info, options) => {
  const { service } = options as { service: string };
  const correlation: Record<string, unknown> = { timestamp: new Date().toISOString(), service };
  const spanContext = trace.getActiveSpan()?.spanContext();
  // A non-recording span from the no-op tracer carries all-zero ids, which would correlate unrelated lines.
  if (spanContext && isSpanContextValid(spanContext)) {
    correlation.trace_id = spanContext.traceId;
    correlation.span_id = spanContext.spanId;
  }
  const requestId = currentRequestId();
  if (requestId !== undefined) correlation.request_id = requestId;
  return Object.assign(info, correlation);
});

const redactSecrets = winston.format((info) => {
  const safe = redact(info) as Record<string, unknown>;
  const leading = Object.fromEntries(
    LEADING_FIELDS.filter((field) => Object.hasOwn(safe, field)).map((field) => [field, safe[field]]),
  );
  // winston keeps its bookkeeping (the level used for filtering, the raw splat arguments) under symbol
  // keys, which a copy by string keys drops. Carry them over, redacting any that hold caller data.
  const bookkeeping = Object.fromEntries(
    Object.getOwnPropertySymbols(info).map((key) => [key, redact((info as Record<symbol, unknown>)[key])]),
  );
  // Spread rather than Object.assign: it defines keys, so a "__proto__" key cannot swap the prototype.
  return { ...leading, ...safe, ...bookkeeping } as winston.Logform.TransformableInfo;
});

function formatPretty(colours: boolean): winston.Logform.Format {
  const printLine = winston.format.printf((info) => {
    const { timestamp, level, service, message, ...rest } = info;
    const time = String(timestamp).slice(11, 23);
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${time} ${level} [${String(service)}] ${text}${extra}`;
  });
  return colours ? winston.format.combine(winston.format.colorize(), printLine) : printLine;
}
