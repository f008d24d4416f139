import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeMultipartRelated, mintDevToken } from '@cxr/platform';
import {
  dcmsend, startOtlpReceiver, startStack, waitFor, type OtlpReceiver, type ReceivedSpan, type Stack,
} from '@cxr/devstack';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';

/**
 * Observability across the real stack: the three services as processes exporting OTLP/HTTP JSON
 * to a small receiver in this test, a real queue between them. A study sent by DIMSE or STOW-RS
 * must leave one trace from ingest through the worker to its draft in the report service, with
 * the spans nested in the order the work happened, the same trace ids in every service's logs,
 * no identifiers in any span, and the end-to-end latency observed once per draft.
 */
let receiver: OtlpReceiver;
let stack: Stack;
let dir: string;
let token: string;

const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-e2e-tracing-'));
  receiver = await startOtlpReceiver();
  stack = await startStack({
    dataDir: dir,
    resetS3: true,
    redisAppendOnly: false,
    env: {
      INGEST_STUDY_STABLE_MS: '500',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
  token = await mintDevToken({ role: 'viewer' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitForDraft(study: ChestStudy): Promise<void> {
  await waitFor('the study\'s draft', async () => {
    const res = await fetch(`${stack.reportUrl}/api/studies/${study.studyInstanceUid}/report`, { headers: { Authorization: `Bearer ${token}` } });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { status: string };
    if (body.status === 'failed' || body.status === 'not-eligible') throw new Error(`study ended ${body.status}`);
    return body.status === 'draft' ? true : undefined;
  }, 90_000, 200);
}

/** The spans of one trace, once the report service's draft composition has been exported. */
async function traceWith(root: (s: ReceivedSpan) => boolean): Promise<ReceivedSpan[]> {
  return waitFor('the trace to reach the report service\'s draft', async () => {
    const start = receiver.spans().find(root);
    if (!start) return undefined;
    const spans = receiver.spans().filter((s) => s.traceId === start.traceId);
    const composed = spans.some((s) => s.service === 'report' && s.name === 'draft.compose');
    const consumed = spans.some((s) => s.service === 'report' && s.name === 'process report-events' && s.attributes['cxr.event_type'] === 'analysis-completed');
    return composed && consumed ? spans : undefined;
  }, 30_000, 200);
}

function one(spans: ReceivedSpan[], service: string, name: string, where: (s: ReceivedSpan) => boolean = () => true): ReceivedSpan {
  const found = spans.filter((s) => s.service === service && s.name === name && where(s));
  expect(found, `${service}: ${name} (have ${spans.map((s) => `${s.service}:${s.name}`).join(', ')})`).toHaveLength(1);
  return found[0]!;
}

function expectChild(child: ReceivedSpan, parent: ReceivedSpan): void {
  expect(child.parentSpanId, `${child.service}:${child.name} is a child of ${parent.service}:${parent.name}`).toBe(parent.spanId);
  expect(BigInt(child.startTimeUnixNano) >= BigInt(parent.startTimeUnixNano), `${child.name} starts after ${parent.name}`).toBe(true);
}

/** The ancestors of a span inside its trace, nearest first. */
function ancestors(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out: ReceivedSpan[] = [];
  for (let p = byId.get(span.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p);
  return out;
}

/** The spans from ingest's analysis enqueue to the draft, checked link by link. */
function expectPipelineChain(spans: ReceivedSpan[]): void {
  const completion = one(spans, 'ingest', 'process study-completion');
  expect(completion.kind).toBe(SPAN_KIND.consumer);
  const prepare = one(spans, 'ingest', 'image.prepare');
  expectChild(prepare, completion);
  const enqueue = one(spans, 'ingest', 'publish analysis');
  expect(enqueue.kind).toBe(SPAN_KIND.producer);
  expectChild(enqueue, completion);
  const received = one(spans, 'ingest', 'publish report-events');
  expectChild(received, completion);

  const job = one(spans, 'inference-worker', 'process analysis');
  expect(job.kind).toBe(SPAN_KIND.consumer);
  expectChild(job, enqueue);
  // Heatmaps travel inline in the result (one PUT), so storing them is no span of its own.
  for (const stage of ['analysis.fetch', 'analysis.inference', 'analysis.store-result']) expectChild(one(spans, 'inference-worker', stage), job);
  const completedEvent = one(spans, 'inference-worker', 'publish report-events');
  expect(completedEvent.attributes['cxr.event_type']).toBe('analysis-completed');
  expectChild(completedEvent, job);

  const studyReceived = one(spans, 'report', 'process report-events', (s) => s.attributes['cxr.event_type'] === 'study-received');
  expectChild(studyReceived, received);
  const applied = one(spans, 'report', 'process report-events', (s) => s.attributes['cxr.event_type'] === 'analysis-completed');
  expect(applied.kind).toBe(SPAN_KIND.consumer);
  expect(applied.attributes['cxr.outcome']).toBe('applied');
  expectChild(applied, completedEvent);
  expectChild(one(spans, 'report', 'draft.compose'), applied);
  // One pseudonymous study key names the study everywhere it is named at all.
  const keys = new Set(spans.map((s) => s.attributes['cxr.study_key']).filter((k) => k !== undefined));
  expect(keys.size).toBe(1);
}

function expectNoIdentifiers(spans: ReceivedSpan[], study: ChestStudy): void {
  const text = JSON.stringify(spans);
  for (const identifier of [study.studyInstanceUid, study.seriesInstanceUid, study.sopInstanceUid, study.patient.id, study.patient.name, study.accessionNumber]) {
    expect(text).not.toContain(identifier);
  }
}

function logLines(service: string): Record<string, unknown>[] {
  const file = stack.services.find((s) => s.name === service)!.logFile;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function latencyHistogram(): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${stack.reportUrl}/metrics`)).text();
  const read = (series: string) => Number(new RegExp(`^${series}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { count: read('cxr_report_e2e_latency_seconds_count'), sum: read('cxr_report_e2e_latency_seconds_sum') };
}

describe('a study\'s trace across ingest, the queue, the worker and the report service', () => {
  test('a study sent with dcmsend is one trace from the DIMSE association to its draft', async () => {
    const before = await latencyHistogram();
    const study = makeChestStudy({ seed: 701, findings: [{ code: 'nodule', side: 'left', zone: 'middle', tier: 'obvious', sizeMm: 20 }] });
    const file = join(dir, 'traced.dcm');
    writeFileSync(file, study.file);
    const sent = Date.now();
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    await waitForDraft(study);
    const drafted = Date.now();

    const spans = await traceWith((s) => s.service === 'ingest' && s.name === 'dimse.association');
    const association = one(spans, 'ingest', 'dimse.association');
    expect(association.parentSpanId).toBe('');
    expect(association.kind).toBe(SPAN_KIND.server);
    expect(association.attributes['dicom.released']).toBe(true);
    const store = one(spans, 'ingest', 'dimse.c-store');
    expectChild(store, association);
    expect(store.attributes['dicom.status']).toBe('0x0000');
    expectChild(one(spans, 'ingest', 'instance.store'), store);
    // The study's completion was scheduled while its first instance was being stored.
    expect(ancestors(spans, one(spans, 'ingest', 'process study-completion'))).toContain(association);
    expectPipelineChain(spans);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['ingest', 'inference-worker', 'report']));
    expectNoIdentifiers(spans, study);
    expect(receiver.rejected()).toBe(0);

    // Every service's log lines for this study carry the trace id.
    const traceId = association.traceId;
    expect(logLines('ingest').some((l) => l.trace_id === traceId && l.msg === 'study complete')).toBe(true);
    expect(logLines('inference-worker-0').some((l) => l.trace_id === traceId && l.msg === 'analysis completed')).toBe(true);
    const processed = logLines('report').find((l) => l.trace_id === traceId && l.msg === 'report event processed' && l.type === 'analysis-completed');
    expect(processed).toBeDefined();

    // The draft's end-to-end latency was observed once, and is no longer than what this test saw.
    const after = await latencyHistogram();
    expect(after.count - before.count).toBe(1);
    const observed = after.sum - before.sum;
    expect(observed).toBeGreaterThan(0);
    expect(observed).toBeLessThanOrEqual((drafted - sent) / 1000 + 0.5);
    expect(Number(processed!.e2eLatencyMs)).toBeCloseTo(observed * 1000, -1);
  });

  test('a study sent by STOW-RS is one trace from the HTTP request to its draft, and the request id reaches the logs', async () => {
    const study = makeChestStudy({ seed: 702, modality: 'CR', findings: [{ code: 'pleural_effusion', side: 'right', tier: 'obvious' }] });
    const { body, contentType } = encodeMultipartRelated([study.file]);
    const res = await fetch(`${stack.ingestUrl}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'Content-Type': contentType, Accept: 'application/dicom+json', 'X-Request-Id': 'e2e-stow-702' },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('e2e-stow-702');
    await waitForDraft(study);

    const isRequest = (s: ReceivedSpan) => s.service === 'ingest' && s.name === 'POST /dicomweb/studies' && s.attributes['cxr.request_id'] === 'e2e-stow-702';
    const spans = await traceWith(isRequest);
    const request = one(spans, 'ingest', 'POST /dicomweb/studies');
    expect(request.parentSpanId).toBe('');
    expect(request.kind).toBe(SPAN_KIND.server);
    expect(request.attributes['http.response.status_code']).toBe(200);
    expectChild(one(spans, 'ingest', 'instance.store'), request);
    expectChild(one(spans, 'ingest', 'process study-completion'), request);
    expectPipelineChain(spans);
    expectNoIdentifiers(spans, study);

    const stored = logLines('ingest').filter((l) => l.req_id === 'e2e-stow-702');
    expect(stored.length).toBeGreaterThan(0);
    for (const line of stored) expect(line.trace_id).toBe(request.traceId);
  });

  test('the report API echoes a caller\'s request id and makes one up when there is none', async () => {
    const given = await fetch(`${stack.reportUrl}/api/studies`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'viewer-req-9' } });
    expect(given.headers.get('x-request-id')).toBe('viewer-req-9');
    const made = await fetch(`${stack.reportUrl}/readyz`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
