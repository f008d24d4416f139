/**
 * OpenTelemetry tracing for every service, with the trace carried across the queues in job data.
 *
 * Choices:
 * - Spans are made by hand at the boundaries that matter (a DIMSE association, an HTTP request, a
 *   job, a stage of a job), not by auto-instrumentation: its module hooks do not see ESM loaded by
 *   tsx reliably, and a hand-made span can be kept free of identifiers (see below).
 * - A study's trace crosses BullMQ as W3C trace context (`trace: {traceparent, tracestate}`) in the
 *   job data: the producer injects its span's context (`publishInSpan`), the consumer continues from
 *   it (`runJobInSpan`). The consumer's span is a child of the producer's.
 * - `initTracing` always installs a tracer provider, so span and trace ids exist and appear in the
 *   logs even when nothing is exported; spans are exported (OTLP over HTTP, JSON or protobuf) only
 *   when an OTLP endpoint is configured with the standard `OTEL_EXPORTER_OTLP_*` variables.
 * - Privacy: span names are fixed strings and attributes carry pseudonymous study keys, versions,
 *   counts and route patterns only; never UIDs, URL paths, names or patient IDs.
 */
import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, context, createContextKey, isSpanContextValid, propagation, trace,
  type Attributes, type Context, type Span, type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler,
  type Sampler, type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export { SpanKind, ROOT_CONTEXT, type Context, type Span };

/** W3C trace context as job data carries it (`traceContextSchema` in @cxr/contracts). */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
}

export const TRACES_SAMPLERS = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/** Parsed from the standard OpenTelemetry environment variables (see config.ts). */
export interface TracingConfig {
  /** OTEL_SDK_DISABLED: no provider at all (no spans, no ids in logs). */
  disabled: boolean;
  /** Full OTLP/HTTP traces URL, or undefined: spans are made (ids in logs) but not exported. */
  tracesEndpoint: string | undefined;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait before a batch is sent. */
  scheduleDelayMs: number;
  sampler: TracesSampler;
  /** Ratio for the traceidratio samplers (0..1). */
  samplerArg: number;
  /** OTEL_SERVICE_NAME overrides the service's own name. */
  serviceName: string | undefined;
  /** OTEL_RESOURCE_ATTRIBUTES (e.g. deployment.environment.name=prod). */
  resourceAttributes: Record<string, string>;
}

export const DEFAULT_TRACING_CONFIG: TracingConfig = Object.freeze({
  disabled: false,
  tracesEndpoint: undefined,
  protocol: 'http/protobuf',
  headers: {},
  scheduleDelayMs: 5000,
  sampler: 'parentbased_always_on',
  samplerArg: 1,
  serviceName: undefined,
  resourceAttributes: {},
});

/** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (OTLP spec). */
export function otlpTracesUrl(endpoint: string | undefined, tracesEndpoint: string | undefined): string | undefined {
  if (tracesEndpoint) return tracesEndpoint;
  if (!endpoint) return undefined;
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/** `key1=value1,key2=value2` (W3C baggage-like, percent-encoded values) as the OTel env vars write it. */
export function parseKeyValueList(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    let value = item.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep it as written
    }
    if (key) out[key] = value;
  }
  return out;
}

export interface Tracing {
  /** Whether finished spans are sent to an OTLP endpoint. */
  readonly exporting: boolean;
  /** Sends what is buffered (tests, and before exit). */
  forceFlush(): Promise<void>;
  /** Flushes and stops; call once, at shutdown. */
  shutdown(): Promise<void>;
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = Math.min(1, Math.max(0, config.samplerArg));
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * Installs the global tracer provider, context manager (AsyncLocalStorage) and W3C trace-context
 * propagator for this process. Call once, first thing in main.ts.
 */
export function initTracing(serviceName: string, config: TracingConfig = DEFAULT_TRACING_CONFIG): Tracing {
  if (config.disabled) {
    return { exporting: false, forceFlush: async () => undefined, shutdown: async () => undefined };
  }
  const spanProcessors: SpanProcessor[] = [];
  if (config.tracesEndpoint) {
    const exporterConfig = { url: config.tracesEndpoint, headers: config.headers };
    const exporter = config.protocol === 'http/json' ? new OtlpJsonTraceExporter(exporterConfig) : new OtlpProtoTraceExporter(exporterConfig);
    spanProcessors.push(new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.scheduleDelayMs }));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName ?? serviceName }),
    sampler: samplerOf(config),
    spanProcessors,
  });
  provider.register();
  return {
    exporting: spanProcessors.length > 0,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

const TRACER_NAME = 'cxr-assist';

/** The tracer of the global provider (a no-op one until `initTracing` ran, e.g. in unit tests). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const REQUEST_ID_KEY = createContextKey('cxr.request_id');

/** A context that also carries an HTTP request id (for the logs). */
export function withRequestId(ctx: Context, requestId: string): Context {
  return ctx.setValue(REQUEST_ID_KEY, requestId);
}

/** The request id of the HTTP request being handled, if any. */
export function currentRequestId(ctx: Context = context.active()): string | undefined {
  const value = ctx.getValue(REQUEST_ID_KEY);
  return typeof value === 'string' ? value : undefined;
}

/** Fields every log line gets (pino mixin): the active trace and span, and the request id. */
export function logCorrelationFields(): Record<string, string> {
  const ctx = context.active();
  const out: Record<string, string> = {};
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext && isSpanContextValid(spanContext)) {
    out.trace_id = spanContext.traceId;
    out.span_id = spanContext.spanId;
  }
  const requestId = currentRequestId(ctx);
  if (requestId) out.req_id = requestId;
  return out;
}

/** The W3C trace context of `ctx` (default: the active one), for job data; undefined without a span. */
export function traceContextOf(ctx: Context = context.active()): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

/** The context a job's trace context describes (the root context if it has none or it is malformed). */
export function contextFromTrace(carrier: TraceContext | undefined): Context {
  if (!carrier?.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { ...carrier });
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; default the active one. */
  parent?: Context;
}

/**
 * Runs `fn` in a new active span, ended when `fn` settles. A thrown error is recorded on the span
 * (its message only, which our errors keep free of identifiers) and rethrown.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span that is not made active: for something that outlives one call (a DIMSE association). */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  return tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, options.parent ?? context.active());
}

/** `parent` (default: the active context) with `span` as its current span. */
export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` active (spans it starts are children of ctx's span; its logs carry its ids). */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** Whether a span is active here (one that callers made, not just the root context). */
export function hasActiveSpan(): boolean {
  return trace.getSpan(context.active()) !== undefined;
}

/** Marks a span as failed: status ERROR and an `exception` event with the error's message. */
export function recordError(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.addEvent('exception', { 'exception.type': error instanceof Error ? error.name : typeof error, 'exception.message': message });
}

/**
 * Enqueues in a PRODUCER span (`publish {queue}`) and hands `send` that span's trace context to put
 * in the job data, so the consumer's span becomes its child.
 */
export function publishInSpan<T>(queue: string, attributes: Attributes, send: (trace: TraceContext | undefined) => Promise<T>): Promise<T> {
  return withSpan(`publish ${queue}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': queue, 'messaging.operation.type': 'send', ...attributes },
  }, () => send(traceContextOf()));
}

/**
 * Runs a job handler in a CONSUMER span (`process {queue}`) continued from the trace context in the
 * job data (a new trace if there is none), so its logs and the spans it makes belong to the study's trace.
 */
export function runJobInSpan<T>(queue: string, carrier: TraceContext | undefined, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return withSpan(`process ${queue}`, {
    kind: SpanKind.CONSUMER,
    parent: contextFromTrace(carrier),
    attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': queue, 'messaging.operation.type': 'process', ...attributes },
  }, fn);
}
