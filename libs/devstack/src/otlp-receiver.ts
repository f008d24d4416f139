import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it, flattened with its service's name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporters append /v1/traces). */
  endpoint: string;
  spans(): ReceivedSpan[];
  /** Export requests that were not OTLP JSON (e.g. protobuf): tests expect none. */
  rejected(): number;
  stop(): Promise<void>;
}

interface OtlpAnyValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean }
interface OtlpKeyValue { key: string; value: OtlpAnyValue }
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, 'service' | 'attributes' | 'statusCode'> & { attributes?: OtlpKeyValue[]; status?: { code?: number } })[] }[];
  }[];
}

function valueOf(v: OtlpAnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return '';
}

function attributesOf(list: OtlpKeyValue[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(list.map((kv) => [kv.key, valueOf(kv.value)]));
}

/**
 * A minimal OTLP/HTTP receiver for tests: accepts `POST /v1/traces` with a JSON body (services run
 * with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and keeps every span. Not a collector: no
 * protobuf, no gzip, nothing forwarded.
 */
export async function startOtlpReceiver(host = '127.0.0.1'): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let rejected = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (req.headers['content-type'] ?? '').startsWith('application/json');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !json) {
        rejected += 1;
        res.writeHead(415).end();
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const rs of body.resourceSpans ?? []) {
          const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind,
                startTimeUnixNano: String(s.startTimeUnixNano), endTimeUnixNano: String(s.endTimeUnixNano),
                attributes: attributesOf(s.attributes), statusCode: s.status?.code ?? 0,
              });
            }
          }
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      } catch {
        rejected += 1;
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    spans: () => [...spans],
    rejected: () => rejected,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
