import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import { startRecordingServer } from '@tenantmesh/testing';
import { startTracing, tracesUrl } from '../src';

// Why the end-to-end tests run their services in child processes rather than inside jest:
// 1. OpenTelemetry instruments by hooking Module.prototype.require (require-in-the-middle). Under jest,
//    require('module') returns a sandbox subclass of Module, so the hook lands on that subclass and no
//    module (express, even node:http) is ever patched: requests produce no spans at all.
// 2. The OTLP HTTP exporter loads node:http with a dynamic import(), which jest's CommonJS runtime
//    rejects ("A dynamic import callback was invoked without --experimental-vm-modules").
// A plain node process has neither problem, and it runs the code the way a service's main.ts does.
const SERVICE_FIXTURE = path.join(__dirname, 'fixtures/traced-service.ts');
const TYPESCRIPT_HOOK = path.join(__dirname, 'support/register-typescript.js');

/** A minimal OTLP/HTTP collector: accepts every export and keeps it for the test to read. */
async function startOtlpReceiver() {
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

interface ServiceProcess {
  url: string;
  /** Asks the service to close and flush its spans; resolves with its exit code. */
  stop(): Promise<number | null>;
}

const running: ChildProcess[] = [];

async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const child = fork(SERVICE_FIXTURE, [], {
    execArgv: ['-r', TYPESCRIPT_HOOK],
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    void exited.then((code) => reject(new Error(`service exited early (${code}):\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.send('stop');
      const code = await exited;
      if (code !== 0) throw new Error(`service exited with ${code}:\n${output}`);
      return code;
    },
  };
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

// OTLP span kinds, as numbered in the protocol (not the @opentelemetry/api SpanKind enum).
const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

interface ExportedSpan {
  service: string;
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: OtlpAttribute[];
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}

interface OtlpTracesRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{ scope: { name: string }; spans: Array<Omit<ExportedSpan, 'service' | 'scope'>> }>;
  }>;
}

/** Flattens an OTLP/JSON export body into spans labelled with their service and instrumentation. */
function spansIn(body: string): ExportedSpan[] {
  const request = JSON.parse(body) as OtlpTracesRequest;
  return request.resourceSpans.flatMap(({ resource, scopeSpans }) => {
    const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    return scopeSpans.flatMap(({ scope, spans }) =>
      spans.map((span) => ({ ...span, service, scope: scope.name })),
    );
  });
}

function attributeOf(span: ExportedSpan, key: string): string | undefined {
  return span.attributes.find((a) => a.key === key)?.value.stringValue;
}

function findSpan(spans: ExportedSpan[], where: { service: string; kind: number }): ExportedSpan {
  const span = spans.find((s) => s.service === where.service && s.kind === where.kind);
  if (!span) throw new Error(`no span ${JSON.stringify(where)} among ${JSON.stringify(spans, null, 2)}`);
  return span;
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill();
});

describe('startTracing', () => {
  test('does nothing and returns undefined when no OTLP endpoint is configured', async () => {
    await expect(startTracing({ service: 'x' })).resolves.toBeUndefined();
    await expect(startTracing({ service: 'x', otlpEndpoint: '' })).resolves.toBeUndefined();
  });

  test('builds the traces URL from the OTLP base endpoint', () => {
    expect(tracesUrl('http://tempo:4318')).toBe('http://tempo:4318/v1/traces');
    expect(tracesUrl('http://tempo:4318/')).toBe('http://tempo:4318/v1/traces');
  });

  test('starts, shuts down, and leaves the OpenTelemetry globals free for a later start', async () => {
    // Nothing is exported here (no span ends), so the endpoint need not answer.
    const otlpEndpoint = 'http://127.0.0.1:9';
    const first = await startTracing({ service: 'x', otlpEndpoint });
    expect(first).toBeDefined();
    await first?.shutdown();
    // Services may reach shutdown from more than one exit path; the second call must be harmless.
    await first?.shutdown();

    const second = await startTracing({ service: 'x', otlpEndpoint });
    try {
      expect(trace.getTracer('test').startSpan('probe').isRecording()).toBe(true);
    } finally {
      await second?.shutdown();
    }
    expect(trace.getTracer('test').startSpan('after').isRecording()).toBe(false);
  });

  test('exports spans over OTLP/HTTP and carries one trace across a service hop', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const backend = await startServiceProcess({
        SERVICE_NAME: 'backend',
        OTLP_ENDPOINT: receiver.endpoint,
      });
      const frontend = await startServiceProcess({
        SERVICE_NAME: 'frontend',
        OTLP_ENDPOINT: receiver.endpoint,
        BACKEND_URL: backend.url,
      });

      expect(JSON.parse(await getText(`${frontend.url}/orders/42`))).toEqual({
        order: '42',
        item: { id: '42' },
      });
      await getText(`${backend.url}/metrics`);
      await frontend.stop();
      await backend.stop();

      expect(receiver.received.length).toBeGreaterThan(0);
      for (const request of receiver.received) {
        expect(request).toMatchObject({ method: 'POST', url: '/v1/traces', contentType: 'application/json' });
      }
      const spans = receiver.received.flatMap((request) => spansIn(request.body));
      const frontendServer = findSpan(spans, { service: 'frontend', kind: SPAN_KIND_SERVER });
      const frontendClient = findSpan(spans, { service: 'frontend', kind: SPAN_KIND_CLIENT });
      const backendServer = findSpan(spans, { service: 'backend', kind: SPAN_KIND_SERVER });

      // Server spans are named by route pattern, which needs express instrumented, not only http.
      expect(frontendServer.name).toBe('GET /orders/:id');
      expect(backendServer.name).toBe('GET /items/:id');
      expect(spans.some((s) => s.service === 'backend' && s.scope.endsWith('instrumentation-express'))).toBe(
        true,
      );
      // The hop: the backend continued the frontend's trace, as a child of the frontend's outgoing call.
      expect(frontendClient.traceId).toBe(frontendServer.traceId);
      expect(backendServer.traceId).toBe(frontendServer.traceId);
      expect(backendServer.parentSpanId).toBe(frontendClient.spanId);
      // Scrapes are not traced.
      expect(spans.filter((s) => attributeOf(s, 'url.path') === '/metrics')).toEqual([]);
      expect(attributeOf(backendServer, 'url.path')).toBe('/items/42');
    } finally {
      await receiver.close();
    }
  });
});
