import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  modelPerformanceResponseSchema,
  modelScopeKey,
  modelValidationKey,
  DEFAULT_MODEL_SCOPE,
  objectKeys,
  reportResponseSchema,
  type ModelValidation,
  type ModelVersionPerformance,
} from '@cxr/contracts';
import { createLogger, createWorkerConnection, type Redis } from '@cxr/platform';
import { reindexReports } from '../state/reindex.ts';
import type { ReportDraft } from '../drafts/report-draft.ts';
import type { ReportRevision } from '../state/report-state.ts';
import { analysisCompletedEvent, analysisResult, fixtureImage, putAnalysisOutputs, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { startBackingServers, startReportServiceHarness, type BackingServers, type ReportServiceHarness } from '../testing/report-service.test-support.ts';
import { DEFAULT_DRIFT_LIMITS } from './drift.ts';
import { ModelMonitor } from './model-monitor.ts';

// Model monitoring against a real redis-server: a run of studies whose case mix shifts, fed as
// the report service records them, must flip the drift status; an agreement drop must be flagged;
// and the counts must outlive the process that wrote them.

let servers: BackingServers;
let redis: Redis;
const DAY = 24 * 3_600_000;
const MODEL = 'cxr-test@1.0.0';
const validation: ModelValidation = {
  dataset: 'phantoms (test)', count: 2000, computedAt: '2026-01-01T00:00:00.000Z',
  findings: {
    nodule: { positiveRate: 0.2, meanProbability: 0.25, histogram: [0.4, 0.2, 0.1, 0.05, 0.05, 0.04, 0.04, 0.04, 0.04, 0.04] },
  },
};

beforeAll(async () => {
  servers = await startBackingServers('model-monitor');
  redis = createWorkerConnection(servers.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await servers?.stop();
});

/** A monitor on its own key prefix, with the package's validation figures published as the worker does. */
async function freshMonitor(now: () => Date, prefix = `monitor-${randomKey().slice(0, 8)}`) {
  await redis.set(modelValidationKey(prefix, MODEL), JSON.stringify({ model: MODEL, validation, publishedAt: '2026-01-01T00:00:00.000Z' }));
  return { prefix, monitor: new ModelMonitor({ redis, queuePrefix: prefix, retentionDays: 30, limits: DEFAULT_DRIFT_LIMITS, now }) };
}

/** A one-image draft whose nodule probability is `probability` (positive from 0.5). */
function draft(probability: number): ReportDraft {
  const instanceKey = randomKey();
  const positive = probability >= 0.5;
  return {
    studyKey: randomKey(), version: 1, analysisId: randomKey(),
    model: { id: 'cxr-test', version: '1.0.0', sha256: 'ab'.repeat(32), executionProvider: 'cpu' },
    sections: { findings: '', impression: '' }, text: '',
    findings: [{
      instanceKey, code: 'nodule', display: 'Nodule', coding: null, probability, threshold: 0.5, positive,
      peak: { x: 0.5, y: 0.5 }, overlayKey: 'o.png', confidence: positive ? 'high' : 'low', side: null, zone: null, region: null,
    }],
    outOfScope: [], composedAt: '2026-01-01T00:00:00.000Z',
  } as ReportDraft;
}

// Probabilities drawn as the validation histogram has them: negatives over bins 0-4 in its
// proportions (8:4:2:1:1), positives evenly over bins 5-9.
const NEGATIVE_BINS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4];
const binCentre = (bin: number): number => (bin + 0.5) / 10;

/** Feeds `count` studies completed at `at`, `share` of them AI-positive for nodule. */
async function feed(monitor: ModelMonitor, at: Date, count: number, share: number): Promise<void> {
  const positives = Math.round(count * share);
  for (let i = 0; i < count; i++) {
    const probability = i < positives ? binCentre(5 + (i % 5)) : binCentre(NEGATIVE_BINS[(i - positives) % NEGATIVE_BINS.length]!);
    await monitor.recordDraft(draft(probability), at.toISOString());
  }
}

/** A signed revision whose AI-positive nodule was accepted or rejected. */
function signed(decision: 'accepted' | 'rejected', signedAt: Date): ReportRevision {
  const d = draft(0.85);
  const at = signedAt.toISOString();
  const author = { sub: 'rad', name: 'Dr Test', role: 'radiologist' } as const;
  return {
    schemaVersion: 2, studyKey: d.studyKey, revision: 2, kind: 'signature', createdAt: at, author, basedOn: 1, analysisVersion: 1, draft: d, edited: true,
    sections: { findings: 'Nodule in the right upper zone.', impression: '' },
    decisions: [{ instanceKey: d.findings[0]!.instanceKey, code: 'nodule', decision }],
    signature: { signedBy: author, signedAt: at, revision: 2, analysisVersion: 1, attestation: null }, addenda: [],
  };
}

const nodule = (v: ModelVersionPerformance | undefined) => v?.findings.find((f) => f.code === 'nodule');

describe('ModelMonitor against a real Redis', () => {
  test('flips the drift status when the case mix shifts beyond the band, and keeps the earlier week in band', async () => {
    let now = new Date('2026-03-01T12:00:00.000Z');
    const { monitor } = await freshMonitor(() => now);

    // A week at the validation case mix (20% nodule positives): in band.
    for (let day = 6; day >= 0; day--) await feed(monitor, new Date(now.getTime() - day * DAY), 20, 0.2);
    let report = await monitor.reportLast(7 * DAY);
    let v = report.models.find((m) => m.model === MODEL);
    expect(nodule(v)).toMatchObject({ images: 140, positives: 28, drift: { positiveRate: 'ok', scoreDistribution: 'ok' } });
    expect(nodule(v)!.expected).toMatchObject({ positiveRate: 0.2 });
    expect(v!.drifting).toBe(false);

    // The next week the case mix shifts: 55% of studies nodule-positive.
    for (let day = 1; day <= 7; day++) {
      now = new Date(now.getTime() + DAY);
      await feed(monitor, now, 20, 0.55);
    }
    report = await monitor.reportLast(7 * DAY);
    v = report.models.find((m) => m.model === MODEL);
    expect(nodule(v)!.positiveRate).toBeCloseTo(0.55, 2);
    expect(nodule(v)!.drift.positiveRate).toBe('drift');
    expect(nodule(v)!.drift.scoreDistribution).toBe('drift');
    expect(nodule(v)!.drift.reasons.join(' ')).toMatch(/nodule: positive rate 55\.0% over 140 images is outside the expected 10\.0%–30\.0%/);
    expect(v!.drifting).toBe(true);

    // The earlier week, on its own, was in band.
    const earlier = await monitor.report({ since: new Date(now.getTime() - 14 * DAY), until: new Date(now.getTime() - 7 * DAY) });
    expect(nodule(earlier.models[0])).toMatchObject({ images: 140, drift: { positiveRate: 'ok' } });
  });

  test('flags an agreement drop from signed reports against the window before', async () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    const { monitor } = await freshMonitor(() => now);
    const lastWeek = new Date(now.getTime() - 10 * DAY);
    for (let i = 0; i < 30; i++) await monitor.recordSigned(signed(i < 29 ? 'accepted' : 'rejected', lastWeek));
    for (let i = 0; i < 30; i++) await monitor.recordSigned(signed(i < 22 ? 'accepted' : 'rejected', new Date(now.getTime() - DAY)));

    const v = (await monitor.reportLast(7 * DAY)).models.find((m) => m.model === MODEL);
    expect(v!.signedStudies).toBe(30);
    expect(nodule(v)!.review).toMatchObject({ accepted: 22, rejected: 8, added: 0 });
    expect(nodule(v)!.review.agreement).toBeCloseTo(22 / 30, 9);
    expect(nodule(v)!.review.previousAgreement).toBeCloseTo(29 / 30, 9);
    // 73% is above the 70% floor, but 23 points below the week before.
    expect(nodule(v)!.drift.agreement).toBe('drift');
    expect(nodule(v)!.drift.reasons.join(' ')).toMatch(/agreement fell from 96\.7% to 73\.3%/);
  });

  test('counts a record once however often it is recorded, and keeps the counts for a new process', async () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    const { monitor, prefix } = await freshMonitor(() => now);
    const d = draft(0.85);
    expect(await monitor.recordDraft(d, now.toISOString())).toBe(true);
    expect(await monitor.recordDraft(d, now.toISOString())).toBe(false);

    // Another connection, another monitor: what a restarted service sees.
    const other = createWorkerConnection(servers.redis.url);
    try {
      const restarted = new ModelMonitor({ redis: other, queuePrefix: prefix, retentionDays: 30, limits: DEFAULT_DRIFT_LIMITS, now: () => now });
      const v = (await restarted.reportLast(DAY)).models[0]!;
      expect(v).toMatchObject({ model: MODEL, role: 'active', studies: 1, images: 1 });
      expect(nodule(v)).toMatchObject({ images: 1, positives: 1, drift: { positiveRate: 'insufficient-data' } });
      expect(nodule(v)!.histogram[8]).toBe(1);
    } finally {
      other.disconnect();
    }
  });
});

describe('the report service counting drafts, arrivals and signatures', () => {
  let svc: ReportServiceHarness;
  beforeEach(async () => {
    svc = await startReportServiceHarness({ redisUrl: servers.redis.url, s3Endpoint: servers.s3.endpoint }, {}, { monitor: true });
  });
  afterEach(async () => {
    await svc.close();
  });

  test('serves the counts of each AI draft, not-eligible study and signed report to admins only', async () => {
    await svc.redis.set(modelScopeKey(svc.config.queuePrefix), JSON.stringify({ model: 'cxr-reference@0.1.0', scope: DEFAULT_MODEL_SCOPE, publishedAt: new Date().toISOString() }));
    const now = new Date().toISOString();
    // A study ingest found not eligible.
    const refusedJob = await svc.addEvent(studyReceivedEvent(randomKey(), 1, [], { eligible: false, ineligibleReasons: ['Modality CT is outside the model scope'], receivedAt: now }));
    expect(await svc.waitForJob(refusedJob)).toBe('completed');
    // A study analysed: the fixture result calls pleural effusion positive, pneumothorax negative.
    const studyKey = randomKey();
    const image = fixtureImage();
    const received = studyReceivedEvent(studyKey, 1, [image], { receivedAt: now });
    expect(await svc.waitForJob(await svc.addEvent(received))).toBe('completed');
    const result = { ...analysisResult(studyKey, 1, [image]), completedAt: now };
    const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
    expect(await svc.waitForJob(await svc.addEvent(analysisCompletedEvent(result, resultKey)))).toBe('completed');

    // The radiologist accepts the effusion and adds a pneumothorax in the text, then signs.
    const radiologist = { Authorization: `Bearer ${await svc.token('radiologist', 'rad-1', 'Dr Reader')}` };
    const path = `/api/studies/${received.studyInstanceUid}/report`;
    const draftRes = reportResponseSchema.parse((await request(svc.app).get(path).set(radiologist)).body);
    const edited = await request(svc.app).put(path).set(radiologist).set('If-Match', draftRes.etag).send({
      sections: { findings: 'Right pleural effusion. Small left apical pneumothorax.', impression: 'Pleural effusion and pneumothorax.' },
      decisions: [{ code: 'pleural-effusion', sopInstanceUid: image.sopInstanceUid, decision: 'accepted' }],
    });
    expect(edited.status).toBe(200);
    expect((await request(svc.app).post(`${path}/sign`).set(radiologist).set('If-Match', edited.body.etag).send({})).status).toBe(200);

    expect((await request(svc.app).get('/api/model-performance').set(radiologist)).status).toBe(403);
    const admin = { Authorization: `Bearer ${await svc.token('admin')}` };
    expect((await request(svc.app).get('/api/model-performance?window=soon').set(admin)).status).toBe(400);
    const res = await request(svc.app).get('/api/model-performance?window=1d').set(admin);
    expect(res.status).toBe(200);
    const body = modelPerformanceResponseSchema.parse(res.body);
    const fixtureModel = body.models.find((m) => m.model === 'cxr-reference@0.1.0')!;
    expect(fixtureModel).toMatchObject({ studies: 1, images: 1, outOfScopeImages: 0, studiesReceived: 2, notEligibleStudies: 1, notEligibleShare: 0.5, signedStudies: 1 });
    expect(fixtureModel.findings.find((f) => f.code === 'pleural-effusion')).toMatchObject({ images: 1, positives: 1, review: { accepted: 1, rejected: 0, added: 0 } });
    expect(fixtureModel.findings.find((f) => f.code === 'pneumothorax')).toMatchObject({ images: 1, positives: 0, review: { accepted: 0, rejected: 0, added: 1 } });
    expect(JSON.stringify(body)).not.toContain(received.studyInstanceUid);

    // Redis lost the counts: reindex rebuilds drafts and signatures from the reports bucket (not arrivals).
    const perfKeys = await svc.redis.keys(`${svc.config.queuePrefix}:perf:*`);
    expect(perfKeys.length).toBeGreaterThan(0);
    await svc.redis.del(...perfKeys);
    const rebuilt = await reindexReports({ reports: svc.reports, logger: createLogger('reindex-test', 'silent'), monitor: svc.monitor! });
    expect(rebuilt).toMatchObject({ indexed: 2, failed: 0, monitoringRecords: 2 });
    expect(await reindexReports({ reports: svc.reports, logger: createLogger('reindex-test', 'silent'), monitor: svc.monitor! })).toMatchObject({ monitoringRecords: 0 });
    const again = modelPerformanceResponseSchema.parse((await request(svc.app).get('/api/model-performance?window=1d').set(admin)).body);
    expect(again.models.find((m) => m.model === 'cxr-reference@0.1.0')).toMatchObject({ studies: 1, images: 1, signedStudies: 1, studiesReceived: 0 });
    expect(again.models[0]!.findings.find((f) => f.code === 'pneumothorax')!.review.added).toBe(1);
  });

  test('compares a shadow version’s results with the active one’s and never makes them drafts', async () => {
    const studyKey = randomKey();
    const image = fixtureImage();
    const received = studyReceivedEvent(studyKey, 1, [image], { receivedAt: new Date().toISOString() });
    expect(await svc.waitForJob(await svc.addEvent(received))).toBe('completed');
    const activeResult = { ...analysisResult(studyKey, 1, [image]), completedAt: new Date().toISOString() };
    const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, activeResult);
    expect(await svc.waitForJob(await svc.addEvent(analysisCompletedEvent(activeResult, resultKey)))).toBe('completed');
    // The candidate disagrees on the effusion (0.2 < 0.5) and agrees on the pneumothorax.
    const shadowModel = 'cxr-reference@0.2.0-rc1';
    const shadowResult = {
      ...activeResult,
      model: { ...activeResult.model, version: '0.2.0-rc1' },
      images: activeResult.images.map((img) => ({ ...img, findings: img.findings.map((f) => (f.code === 'pleural-effusion' ? { ...f, probability: 0.2, positive: false } : f)) })),
    };
    const shadowKey = objectKeys.shadowResult(studyKey, 1, shadowModel);
    await svc.objects.putJson(svc.config.buckets.derived, shadowKey, shadowResult);
    const event = { type: 'shadow-analysis-completed', studyKey, version: 1, analysisId: activeResult.analysisId, model: shadowModel, resultKey: shadowKey, activeResultKey: resultKey, completedAt: shadowResult.completedAt } as const;
    expect(await svc.waitForJob(await svc.addEvent(event))).toBe('completed');

    const admin = { Authorization: `Bearer ${await svc.token('admin')}` };
    const body = modelPerformanceResponseSchema.parse((await request(svc.app).get('/api/model-performance?window=1d').set(admin)).body);
    const candidate = body.models.find((m) => m.model === shadowModel)!;
    expect(candidate).toMatchObject({ role: 'shadow', studies: 1, shadow: { against: 'cxr-reference@0.1.0', studies: 1 } });
    expect(candidate.shadow!.findings['pleural-effusion']).toMatchObject({ activeOnly: 1, shadowOnly: 0, agreement: 0 });
    expect(candidate.shadow!.findings.pneumothorax).toMatchObject({ bothNegative: 1, agreement: 1 });
    // The report still shows the active version's draft, and its history has no shadow revision.
    const viewer = { Authorization: `Bearer ${await svc.token('viewer')}` };
    const report = reportResponseSchema.parse((await request(svc.app).get(`/api/studies/${received.studyInstanceUid}/report`).set(viewer)).body);
    expect(report.revision).toBe(1);
    expect(report.model).toMatchObject({ version: '0.1.0' });
  });
});
