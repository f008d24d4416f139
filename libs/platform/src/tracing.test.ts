import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sharedEnvSchema, toTracingConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { parseEnv } from './config.ts';
import { createLogger } from './logger.ts';
import { requestContext } from './request-context.ts';
import {
  initTracing, logCorrelationFields, otlpTracesUrl, parseKeyValueList, publishInSpan, runJobInSpan, traceContextOf, withSpan,
  type Tracing,
} from './tracing.ts';

describe('tracing configuration from the standard OTEL_* variables', () => {
  test('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT and prefers the traces-specific endpoint as given', () => {
    expect(otlpTracesUrl('http://collector:4318', undefined)).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318/', undefined)).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318', 'http://other:4318/custom')).toBe('http://other:4318/custom');
    expect(otlpTracesUrl(undefined, undefined)).toBeUndefined();
  });

  test('exports nothing by default and reads empty variables as unset', () => {
    const config = toTracingConfig(parseEnv(sharedEnvSchema, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_PROTOCOL: '' }));
    expect(config.tracesEndpoint).toBeUndefined();
    expect(config.protocol).toBe('http/protobuf');
    expect(config.sampler).toBe('parentbased_always_on');
    expect(config.disabled).toBe(false);
  });

  test('reads protocol, headers, sampler, batch delay and resource attributes', () => {
    const config = toTracingConfig(parseEnv(sharedEnvSchema, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.org:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=radiology',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging',
    }));
    expect(config).toMatchObject({
      tracesEndpoint: 'https://otel.example.org:4318/v1/traces',
      protocol: 'http/json',
      headers: { authorization: 'Bearer abc', 'x-tenant': 'radiology' },
      sampler: 'parentbased_traceidratio',
      samplerArg: 0.25,
      scheduleDelayMs: 200,
      resourceAttributes: { 'deployment.environment.name': 'staging' },
    });
  });

  test('refuses OTLP over gRPC, naming the variable', () => {
    expect(() => parseEnv(sharedEnvSchema, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(ConfigError);
    expect(() => parseEnv(sharedEnvSchema, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
  });

  test('parses key=value lists, skipping malformed items', () => {
    expect(parseKeyValueList('a=1, b = two%2Cthree ,=x,novalue')).toEqual({ a: '1', b: 'two,three' });
    expect(parseKeyValueList(undefined)).toEqual({});
  });
});

interface Exported { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: { stringValue?: string } }[] }

/** A tiny OTLP/HTTP JSON receiver: what the exporter really sends, over a real socket. */
let receiver: Server;
const exported: { service: string; span: Exported }[] = [];
let tracing: Tracing;
const logLines: Record<string, unknown>[] = [];
const logger = createLogger('tracing-test', 'debug', new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
}));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: Exported[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const span of ss.spans) exported.push({ service, span });
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as AddressInfo;
  const config = toTracingConfig(parseEnv(sharedEnvSchema, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '10',
  }));
  tracing = initTracing('tracing-test', config);
});

afterAll(async () => {
  await tracing?.shutdown();
  receiver?.closeAllConnections();
  receiver?.close();
});

function spanNamed(name: string): Exported {
  const found = exported.find((e) => e.span.name === name);
  if (!found) throw new Error(`no exported span named ${name}; have ${exported.map((e) => e.span.name).join(', ')}`);
  return found.span;
}

describe('spans across a queue', () => {
  test('a job published in one span is processed in a child span of the same trace, exported over OTLP/HTTP JSON', async () => {
    let jobData: { trace?: { traceparent?: string } } = {};
    await withSpan('study arrives', {}, async () => {
      await publishInSpan('analysis', { 'cxr.study_key': 'k'.repeat(16) }, async (trace) => {
        jobData = { ...(trace ? { trace } : {}) };
      });
    });
    expect(jobData.trace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    // Later, elsewhere: no active span; the job data alone links the work to the study's trace.
    expect(traceContextOf()).toBeUndefined();
    const seenInside = await runJobInSpan('analysis', jobData.trace, {}, async () => {
      logger.info({ step: 'inside the job' }, 'working');
      return logCorrelationFields();
    });
    await tracing.forceFlush();

    const root = spanNamed('study arrives');
    const publish = spanNamed('publish analysis');
    const process = spanNamed('process analysis');
    expect(publish.parentSpanId).toBe(root.spanId);
    expect(process.parentSpanId).toBe(publish.spanId);
    expect(new Set([root.traceId, publish.traceId, process.traceId]).size).toBe(1);
    expect(publish.kind).toBe(4); // PRODUCER
    expect(process.kind).toBe(5); // CONSUMER
    expect(exported.find((e) => e.span.name === 'process analysis')?.service).toBe('tracing-test');
    expect(seenInside).toEqual({ trace_id: process.traceId, span_id: process.spanId });
    const line = logLines.find((l) => l.step === 'inside the job');
    expect(line).toMatchObject({ trace_id: process.traceId, span_id: process.spanId });
  });

  test('a job without trace context starts a new trace instead of failing', async () => {
    const ids = await runJobInSpan('report-events', undefined, {}, async () => logCorrelationFields());
    expect(ids.trace_id).toMatch(/^[0-9a-f]{32}$/);
    await expect(runJobInSpan('report-events', { traceparent: 'garbage' }, {}, async () => 'ran')).resolves.toBe('ran');
  });

  test('a failing step marks its span as an error and the error still reaches the caller', async () => {
    await expect(withSpan('doomed step', {}, () => {
      throw new Error('storage unavailable');
    })).rejects.toThrow('storage unavailable');
    await tracing.forceFlush();
    const doomed = exported.find((e) => e.span.name === 'doomed step')!.span as Exported & { status?: { code?: number } };
    expect(doomed.status?.code).toBe(2); // ERROR
  });
});

describe('HTTP request context', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = express();
    app.use(requestContext(logger));
    app.get('/healthz', (_req, res) => {
      res.json({ ok: true });
    });
    app.post('/api/studies/:study/things', express.raw({ type: () => true }), async (req, res) => {
      await new Promise((r) => setTimeout(r, 5));
      logger.info({ bytes: (req.body as Buffer).length }, 'handled a thing');
      res.json({ fields: logCorrelationFields() });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
  });

  test('echoes a well-formed X-Request-Id and puts it, with the trace, on the log lines of the request', async () => {
    const res = await fetch(`${base}/api/studies/1.2.840.99.1/things`, { method: 'POST', headers: { 'X-Request-Id': 'pacs-req-42' }, body: Buffer.alloc(70_000) });
    expect(res.headers.get('x-request-id')).toBe('pacs-req-42');
    const { fields } = (await res.json()) as { fields: Record<string, string> };
    expect(fields.req_id).toBe('pacs-req-42');
    expect(fields.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const line = logLines.find((l) => l.msg === 'handled a thing');
    expect(line).toMatchObject({ req_id: 'pacs-req-42', trace_id: fields.trace_id, bytes: 70_000 });
  });

  test('replaces a missing or malformed X-Request-Id with a fresh id', async () => {
    const none = await fetch(`${base}/healthz`);
    const bad = await fetch(`${base}/healthz`, { headers: { 'X-Request-Id': 'no spaces allowed; or semicolons' } });
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.headers.get('x-request-id')).not.toBe(none.headers.get('x-request-id'));
  });

  test('names the server span by route pattern, never by the path with its UIDs, and continues the caller\'s trace', async () => {
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    await fetch(`${base}/api/studies/1.2.840.99.7/things`, {
      method: 'POST', headers: { traceparent: `00-${callerTrace}-b7ad6b7169203331-01` }, body: 'x',
    });
    await tracing.forceFlush();
    const span = exported.find((e) => e.span.traceId === callerTrace)?.span;
    expect(span?.name).toBe('POST /api/studies/:study/things');
    expect(span?.parentSpanId).toBe('b7ad6b7169203331');
    expect(span?.kind).toBe(2); // SERVER
    expect(JSON.stringify(exported)).not.toContain('1.2.840.99');
  });

  test('makes no span for probes and metric scrapes', async () => {
    await tracing.forceFlush();
    expect(exported.filter((e) => e.span.name.includes('healthz'))).toEqual([]);
  });
});
