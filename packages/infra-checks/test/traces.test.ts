import { type Mesh, startMesh } from './support/edge-mesh';
import { type OtlpReceiver, startOtlpReceiver } from './support/trace-otlp-receiver';
import { attributeOf, SPAN_KIND, type Span, spansIn } from './support/trace-spans';

/**
 * Traces across a real hop: the gateway and notes run as the processes they are in production
 * (dist/main.js), exporting to an OTLP/HTTP receiver in the test, as they would to Tempo. One
 * authenticated request goes through the gateway to notes; SIGTERM then makes both flush.
 */
describe('traces across the gateway → notes hop', () => {
  let receiver: OtlpReceiver;
  let mesh: Mesh;
  let spans: Span[];
  let status: number;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    mesh = await startMesh({
      publicOrigin: 'http://localhost:3000',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    });
    const cookie = await mesh.signIn();
    const res = await fetch(`http://127.0.0.1:${mesh.gatewayPort}/api/notes/notebooks`, {
      headers: { cookie },
    });
    status = res.status;
    await res.arrayBuffer();
    // Spans are batched in memory; shutting down is what exports the last of them.
    await mesh.stop();
    spans = spansIn(receiver.received);
  }, 60_000);

  afterAll(async () => {
    await mesh?.stop();
    await receiver?.close();
  });

  const notesServerSpan = () => {
    const span = spans.find(
      (s) =>
        s.service === 'notes' && s.kind === SPAN_KIND.server && attributeOf(s, 'url.path') === '/notebooks',
    );
    if (!span) throw new Error(`no notes server span for /notebooks among ${JSON.stringify(spans, null, 2)}`);
    return span;
  };

  it('the request itself succeeded, and both services exported spans over OTLP/HTTP', () => {
    expect(status).toBe(200);
    expect(receiver.received.every((r) => r.method === 'POST' && r.url === '/v1/traces')).toBe(true);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['gateway', 'notes']));
  });

  it('one trace id runs through spans of both the gateway and notes', () => {
    const { traceId } = notesServerSpan();
    const services = new Set(spans.filter((s) => s.traceId === traceId).map((s) => s.service));
    expect(services).toEqual(new Set(['gateway', 'notes']));
  });

  it('notes’ server span is the child of the gateway’s outgoing call, which the gateway’s incoming request began', () => {
    const notesServer = notesServerSpan();
    const parent = spans.find((s) => s.spanId === notesServer.parentSpanId);
    expect(parent).toMatchObject({
      service: 'gateway',
      kind: SPAN_KIND.client,
      traceId: notesServer.traceId,
    });
    // The trace starts at the gateway's server span for the public path, with no parent of its own.
    const root = spans.find(
      (s) => s.service === 'gateway' && s.kind === SPAN_KIND.server && s.traceId === notesServer.traceId,
    );
    expect(root).toBeDefined();
    expect(root?.parentSpanId ?? '').toBe('');
    expect(attributeOf(root!, 'url.path')).toBe('/api/notes/notebooks');
  });
});
