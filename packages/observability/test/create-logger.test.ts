import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type ContextManager, context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger, type LoggerOptions, runWithRequestContext } from '../src';

type LogLine = Record<string, unknown>;

/** A logger writing into memory, and a way to read what it wrote once winston has flushed. */
function captureLogs(options: Omit<LoggerOptions, 'stream'>) {
  const stream = new PassThrough();
  let output = '';
  stream.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const logger = createLogger({ ...options, stream });
  const flushed = () => new Promise((resolve) => setImmediate(resolve));
  return {
    logger,
    async text(): Promise<string> {
      await flushed();
      return output;
    },
    async lines(): Promise<LogLine[]> {
      await flushed();
      return output
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine);
    },
  };
}

/**
 * The real AsyncLocalStorage context manager. It is installed (sdk-node depends on it) but is not a
 * dependency of this package, so pnpm does not link it here; resolve it from sdk-node's location.
 */
function createContextManager(): ContextManager {
  const sdkNode = path.dirname(require.resolve('@opentelemetry/sdk-node'));
  const modulePath = require.resolve('@opentelemetry/context-async-hooks', { paths: [sdkNode] });
  const { AsyncLocalStorageContextManager } = require(modulePath) as {
    AsyncLocalStorageContextManager: new () => ContextManager;
  };
  return new AsyncLocalStorageContextManager();
}

describe('createLogger', () => {
  test('writes one JSON line per entry with timestamp, level, service and message first', async () => {
    const { logger, text, lines } = captureLogs({ service: 'notes' });
    logger.info('note created', { noteId: 'n-1' });
    logger.warn('slow query', { ms: 812 });

    const [created, slow] = await lines();
    expect(created).toEqual({
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      service: 'notes',
      message: 'note created',
      noteId: 'n-1',
    });
    expect(slow).toMatchObject({ level: 'warn', service: 'notes', message: 'slow query', ms: 812 });
    expect(Object.keys(created ?? {}).slice(0, 4)).toEqual(['timestamp', 'level', 'service', 'message']);
    expect((await text()).split('\n')).toHaveLength(3);
  });

  test('drops entries below its level', async () => {
    const { logger, lines } = captureLogs({ service: 'notes', level: 'warn' });
    logger.info('routine');
    logger.error('broken');
    expect((await lines()).map((line) => line.message)).toEqual(['broken']);
  });

  test('logs an Error with its message and stack, which plain JSON would drop', async () => {
    const { logger, lines } = captureLogs({ service: 'notes' });
    logger.error(new Error('disk full'));
    logger.error('upload failed', { error: new TypeError('bad chunk') });

    const [direct, nested] = await lines();
    expect(direct).toMatchObject({
      level: 'error',
      message: 'disk full',
      stack: expect.stringContaining('Error: disk full'),
    });
    expect(nested?.error).toMatchObject({
      name: 'TypeError',
      message: 'bad chunk',
      stack: expect.any(String),
    });
  });

  describe('correlation', () => {
    const contextManager = createContextManager();
    const tracer = new BasicTracerProvider().getTracer('logger-test');

    beforeAll(() => {
      context.setGlobalContextManager(contextManager.enable());
    });
    afterAll(() => {
      context.disable();
    });

    test("carries the active span's trace_id and span_id", async () => {
      const { logger, lines } = captureLogs({ service: 'notes' });
      const span = tracer.startSpan('handle request');
      await context.with(trace.setSpan(context.active(), span), async () => {
        await Promise.resolve();
        logger.info('inside the span');
      });
      span.end();
      logger.info('outside any span');

      const [inside, outside] = await lines();
      const { traceId, spanId } = span.spanContext();
      expect(inside).toMatchObject({ trace_id: traceId, span_id: spanId });
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(outside).not.toHaveProperty('trace_id');
      expect(outside).not.toHaveProperty('span_id');
    });

    test('carries request_id inside a request context, and not outside one', async () => {
      const { logger, lines } = captureLogs({ service: 'notes' });
      await runWithRequestContext({ requestId: 'req-7' }, async () => {
        await Promise.resolve();
        logger.info('handling');
      });
      logger.info('idle');

      const [handling, idle] = await lines();
      expect(handling).toMatchObject({ request_id: 'req-7' });
      expect(idle).not.toHaveProperty('request_id');
    });
  });

  describe('redaction', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJlLWJ5dGVz';
    const secrets = ['sid=abc', 'Bearer x', jwt, 'hunter2', '"k"', 'super-secret-value'];

    test('no secret reaches the output, from metadata or from the message, while other fields survive', async () => {
      const { logger, text, lines } = captureLogs({ service: 'gateway' });
      logger.info(`rejected token ${jwt} for tenant acme`, {
        headers: {
          cookie: 'sid=abc',
          authorization: 'Bearer x',
          'x-user-token': jwt,
          'content-type': 'application/json',
        },
        dbPassword: 'hunter2',
        nested: [{ apiKey: 'k', region: 'eu-west-1' }],
      });
      logger.warn('config loaded', { clientSecret: 'super-secret-value', port: 8080 });

      const output = await text();
      for (const secret of secrets) expect(output).not.toContain(secret);

      const [rejected, config] = await lines();
      expect(rejected).toMatchObject({
        message: 'rejected token [REDACTED] for tenant acme',
        headers: {
          cookie: '[REDACTED]',
          authorization: '[REDACTED]',
          'x-user-token': '[REDACTED]',
          'content-type': 'application/json',
        },
        dbPassword: '[REDACTED]',
        nested: [{ apiKey: '[REDACTED]', region: 'eu-west-1' }],
      });
      expect(config).toMatchObject({ clientSecret: '[REDACTED]', port: 8080 });
    });

    test('redacts the pretty format too', async () => {
      const { logger, text } = captureLogs({ service: 'gateway', format: 'pretty' });
      logger.info(`token ${jwt}`, { password: 'hunter2' });
      const output = await text();
      expect(output).not.toContain(jwt);
      expect(output).not.toContain('hunter2');
    });

    test('logs a circular object without crashing', async () => {
      const { logger, lines } = captureLogs({ service: 'gateway' });
      const request: Record<string, unknown> = { url: '/notes' };
      request.self = request;
      expect(() => logger.info('circular', { request })).not.toThrow();
      expect((await lines())[0]).toMatchObject({ request: { url: '/notes', self: '[Circular]' } });
    });
  });

  test('pretty format writes one readable line per entry', async () => {
    const { logger, text } = captureLogs({ service: 'notes', format: 'pretty' });
    logger.info('listening', { port: 3001 });
    expect(await text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} info \[notes\] listening \{"port":3001\}\n$/);
  });
});
