import type { OtlpExport } from './trace-otlp-receiver';

// OTLP span kinds as the protocol numbers them (not the @opentelemetry/api SpanKind enum).
export const SPAN_KIND = { server: 2, client: 3 } as const;

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}

export interface Span {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: OtlpAttribute[];
}

interface OtlpTracesRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{ spans: Array<Omit<Span, 'service'>> }>;
  }>;
}

/** Every span in the exports (OTLP/JSON), labelled with the service.name of its resource. */
export function spansIn(exports: OtlpExport[]): Span[] {
  return exports.flatMap((sent) => {
    if (!sent.contentType.startsWith('application/json')) {
      throw new Error(`expected OTLP/JSON, got ${sent.contentType} on ${sent.url}`);
    }
    const request = JSON.parse(sent.body) as OtlpTracesRequest;
    return request.resourceSpans.flatMap(({ resource, scopeSpans }) => {
      const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
      return scopeSpans.flatMap(({ spans }) => spans.map((span) => ({ ...span, service })));
    });
  });
}

export function attributeOf(span: Span, key: string): string | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue));
}
