import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  auditTrailResponseSchema,
  objectKeys,
  pacsExportStatusResponseSchema,
  QUEUE_NAMES,
  reportResponseSchema,
  type PacsExportStatusResponse,
  type ReportResponse,
} from '@cxr/contracts';
import { SopClass } from '@cxr/dicom';
import { freePort, startRedisServer, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { createLogger, createRequestConnection, createWorkerConnection, prom } from '@cxr/platform';
import { createApp } from '../app.ts';
import { createReportMetrics } from '../metrics.ts';
import { createReportService } from '../review/report-service.ts';
import { analysisCompletedEvent, analysisResult, fixtureImage, putAnalysisOutputs, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { startBackingServers, type BackingServers, startReportServiceHarness, type ReportServiceHarness } from '../testing/report-service.test-support.ts';
import { createPacsExportMetrics } from './pacs-export-metrics.ts';
import { PacsExportQueue } from './pacs-export-queue.ts';
import { startPacsExportWorker } from '../workers/pacs-export.ts';
import { orthancMissing, startOrthancPacs, type OrthancPacs } from './pacs-orthanc.test-support.ts';
import { StowClient } from './stow-client.ts';

/**
 * Sending reports to a real PACS: Orthanc (Debian's 1.10 + DICOMweb plugin, basic auth on) takes
 * STOW-RS from the report service wired as main.ts wires it (API queue + export worker), over a
 * real redis-server and s3rver. Reports are made through the service harness (events → draft,
 * then edit and sign over HTTP); the originals bucket holds a phantom DICOM whose study the SR and
 * the overlays join. Each test has its own queue prefix, buckets, Orthanc and ports.
 */
const missing = orthancMissing();
if (missing) console.warn(`Skipping the Orthanc PACS export tests: ${missing}. CI installs it.`);

const PACS_USER = 'cxr';
const PACS_PASSWORD = 'pacs-export-test-password';
const PACS_AUTHORIZATION = `Basic ${Buffer.from(`${PACS_USER}:${PACS_PASSWORD}`).toString('base64')}`;

let dir: string;
let servers: BackingServers;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let seed = 7000;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  servers = await startBackingServers('report-pacs-int');
  ({ redis, s3, dir } = servers);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await servers?.stop();
});

interface Setup {
  svc: ReportServiceHarness;
  /** The app with the PACS export wired in (the harness's own app has none). */
  app: Express;
  logs: string[];
  /** Stops the export worker and starts a new one, as a restart of the service would. */
  restartWorker(): Promise<void>;
  token(role: 'viewer' | 'radiologist' | 'integration'): Promise<string>;
}

/** The report service (harness + PACS queue and worker, as main.ts wires them). */
async function setUp(env: Record<string, string>): Promise<Setup> {
  const originals = `orig-${randomKey().slice(0, 8)}`;
  const svc = await startReportServiceHarness({ redisUrl: redis.url, s3Endpoint: s3.endpoint }, { BUCKET_ORIGINALS: originals, ...env });
  await svc.objects.ensureBuckets([originals]);
  const logs: string[] = [];
  const logger = createLogger('report', 'info', new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString('utf8')), done()) }));
  const queueConnection = createWorkerConnection(svc.config.redisUrl);
  const workerConnection = createWorkerConnection(svc.config.redisUrl);
  const metrics = createReportMetrics(() => svc.reports.countByStatus());
  const queue = new Queue(QUEUE_NAMES.pacsExport, { connection: queueConnection, prefix: svc.config.queuePrefix });
  const pacsMetrics = createPacsExportMetrics(metrics.registry, { queue });
  const { stowUrl, authorization, sendOnSign } = svc.config.pacs;
  const startWorker = () => startPacsExportWorker({
    config: svc.config,
    logger,
    connection: workerConnection,
    objects: svc.objects,
    service: createReportService({ reports: svc.reports, signUrl: (path) => svc.auth.signUrl(path), publicUrl: svc.config.publicUrl, buckets: svc.config.buckets }),
    stow: new StowClient({ baseUrl: stowUrl!, authorization, timeoutMs: 10_000 }),
    metrics: pacsMetrics,
    // Short waits so a test sees a few retries; the policy itself is unit-tested.
    retry: { initialDelayMs: 200, maxDelayMs: 1000 },
  });
  let worker = startWorker();
  await worker.waitUntilReady();
  const exports = new PacsExportQueue({ queue, sendOnSign, logger, metrics: pacsMetrics });
  const app = createApp({ config: svc.config, logger, objects: svc.objects, reports: svc.reports, redis: svc.redis, metrics, auth: svc.auth, pacsExports: exports });
  cleanups.push(async () => {
    await worker.close();
    await queue.close();
    await Promise.allSettled([queueConnection.quit(), workerConnection.quit()]);
    for (const key of await svc.objects.list(originals, '')) await svc.objects.remove(originals, key);
    await svc.objects.client.removeBucket(originals);
    await svc.close();
  });
  const restartWorker = async () => {
    await worker.close();
    worker = startWorker();
    await worker.waitUntilReady();
  };
  return { svc, app, logs, restartWorker, token: (role) => svc.token(role, `${role}-7`, role === 'radiologist' ? 'Dr. Ada Reader' : 'Hospital RIS') };
}

async function startPacs(httpPort?: number): Promise<OrthancPacs> {
  const pacs = await startOrthancPacs({ httpPort: httpPort ?? (await freePort()), dicomPort: await freePort(), user: PACS_USER, password: PACS_PASSWORD });
  cleanups.push(() => pacs.stop());
  return pacs;
}

const reportPath = (uid: string) => `/api/studies/${uid}/report`;
const exportPath = (uid: string) => `${reportPath(uid)}/export/pacs`;

async function getReport(s: Setup, uid: string): Promise<{ status: number; body: ReportResponse }> {
  const res = await request(s.app).get(reportPath(uid)).set('Authorization', `Bearer ${await s.token('viewer')}`);
  return { status: res.status, body: res.body as ReportResponse };
}

/** A phantom study stored as the original, received and analysed: its report is a draft. */
async function draftStudy(s: Setup, options: { analyse?: boolean } = {}): Promise<{ study: ChestStudy; report: ReportResponse | null }> {
  const { svc } = s;
  const study = makeChestStudy({ seed: (seed += 1), size: 256 });
  const sha256 = createHash('sha256').update(study.file).digest('hex');
  const originalKey = objectKeys.original(study.studyInstanceUid, study.seriesInstanceUid, study.sopInstanceUid, sha256);
  await svc.objects.put(svc.config.buckets.originals, originalKey, study.file, 'application/dicom');
  const studyKey = randomKey();
  const image = { ...fixtureImage(300, 360), sopInstanceUid: study.sopInstanceUid };
  await svc.addEvent(studyReceivedEvent(studyKey, 1, [image], { studyInstanceUid: study.studyInstanceUid }));
  if (options.analyse === false) {
    await waitFor('the pending report', async () => ((await getReport(s, study.studyInstanceUid)).body.status === 'pending' ? true : undefined), 20_000, 50);
    return { study, report: null };
  }
  const result = analysisResult(studyKey, 1, [image]);
  const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
  await svc.addEvent(analysisCompletedEvent(result, resultKey));
  const report = await waitFor('the draft', async () => {
    const { body } = await getReport(s, study.studyInstanceUid);
    return body.status === 'draft' ? reportResponseSchema.parse(body) : undefined;
  }, 20_000, 50);
  return { study, report };
}

/** Accepts the positive finding and signs, over HTTP as a radiologist. */
async function sign(s: Setup, report: ReportResponse): Promise<ReportResponse> {
  const auth = `Bearer ${await s.token('radiologist')}`;
  const decisions = report.findings.filter((f) => f.positive).map((f) => ({ code: f.code, sopInstanceUid: f.sopInstanceUid, decision: 'accepted' as const }));
  const edited = await request(s.app).put(reportPath(report.studyInstanceUid)).set({ Authorization: auth, 'If-Match': report.etag }).send({ sections: report.sections, decisions });
  expect(edited.status).toBe(200);
  const signed = await request(s.app).post(`${reportPath(report.studyInstanceUid)}/sign`).set({ Authorization: auth, 'If-Match': edited.body.etag as string }).send({});
  expect(signed.status).toBe(200);
  return reportResponseSchema.parse(signed.body);
}

async function exportStatus(s: Setup, uid: string): Promise<{ status: number; body: PacsExportStatusResponse }> {
  const res = await request(s.app).get(exportPath(uid)).set('Authorization', `Bearer ${await s.token('viewer')}`);
  return { status: res.status, body: res.body as PacsExportStatusResponse };
}

async function waitForExport(s: Setup, uid: string, accept: (status: PacsExportStatusResponse) => boolean, timeoutMs = 30_000): Promise<PacsExportStatusResponse> {
  let last: unknown;
  try {
    return await waitFor('the PACS export state', async () => {
      const res = await exportStatus(s, uid);
      last = res.body;
      return res.status === 200 && accept(res.body) ? pacsExportStatusResponseSchema.parse(res.body) : undefined;
    }, timeoutMs, 100);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last state ${JSON.stringify(last)}`);
  }
}

async function exportReport(s: Setup, uid: string, role: 'radiologist' | 'integration' = 'integration', body: unknown = undefined) {
  const req = request(s.app).post(exportPath(uid)).set('Authorization', `Bearer ${await s.token(role)}`);
  return body === undefined ? req : req.send(body as object);
}

async function auditDetails(s: Setup, uid: string): Promise<Array<{ actor: string; revision: number | null; detail: string }>> {
  const res = await request(s.app).get(`${reportPath(uid)}/audit`).set('Authorization', `Bearer ${await s.token('radiologist')}`);
  return auditTrailResponseSchema
    .parse(res.body)
    .entries.filter((e) => e.action === 'export')
    .map((e) => ({ actor: e.actor.sub, revision: e.revision, detail: e.detail }));
}

/** Each instance Orthanc holds, by its tags. */
async function storedInstances(pacs: OrthancPacs): Promise<Array<{ id: string; tags: Record<string, unknown> }>> {
  return Promise.all((await pacs.instanceIds()).map(async (id) => ({ id, tags: await pacs.simplifiedTags(id) })));
}

function expectNoIdentifiersIn(logs: string[], study: ChestStudy): void {
  const text = logs.join('');
  expect(text.length).toBeGreaterThan(0);
  for (const secret of [study.studyInstanceUid, study.sopInstanceUid, study.seriesInstanceUid, study.patient.id, study.patient.name, study.accessionNumber]) {
    expect(text).not.toContain(secret);
  }
}

async function metricValue(s: Setup, outcome: string): Promise<number> {
  const text = (await request(s.app).get('/metrics')).text;
  const match = new RegExp(`^cxr_report_pacs_exports_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

interface HeldGauges {
  queued: number;
  sending: number;
  retrying: number;
  oldestHeldSeconds: number;
}

/** `cxr_report_pacs_exports_pending{state}` and `cxr_report_pacs_export_oldest_held_seconds` in a scrape (NaN when absent). */
function heldGauges(text: string): HeldGauges {
  const value = (series: string): number => {
    const match = new RegExp(`^${series} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : Number.NaN;
  };
  const pending = (state: string) => value(`cxr_report_pacs_exports_pending\\{[^}]*state="${state}"[^}]*\\}`);
  return {
    queued: pending('queued'),
    sending: pending('sending'),
    retrying: pending('retrying'),
    oldestHeldSeconds: value('cxr_report_pacs_export_oldest_held_seconds(?:\\{[^}]*\\})?'),
  };
}

describe.skipIf(missing !== undefined)('sending reports to a PACS (Orthanc over STOW-RS)', () => {
  test('sends the signed report as an SR and its overlay as a Secondary Capture into the study on the PACS, and keeps one copy when sent again', async () => {
    const pacs = await startPacs();
    const s = await setUp({ REPORT_PACS_STOW_URL: pacs.dicomWebUrl, REPORT_PACS_AUTHORIZATION: PACS_AUTHORIZATION });
    const { study, report } = await draftStudy(s);
    const signed = await sign(s, report!);
    // The PACS already holds the original image: what we send must join its study.
    await pacs.upload(study.file);

    // A double click queues once.
    const [first, second] = await Promise.all([exportReport(s, study.studyInstanceUid), exportReport(s, study.studyInstanceUid)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(first.body.jobId).toBe(second.body.jobId);
    const delivered = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'delivered');
    expect(delivered).toMatchObject({
      jobId: first.body.jobId,
      requestedRevision: signed.revision,
      attempts: 1,
      delivery: { revision: signed.revision, signed: true, httpStatus: 200, stored: 2, overlays: 1, warnings: [] },
      failureReason: null,
    });

    const instances = await storedInstances(pacs);
    expect(await pacs.studyCount()).toBe(1);
    expect(instances).toHaveLength(3);
    const sr = instances.find((i) => i.tags.Modality === 'SR');
    const sc = instances.find((i) => i.tags.SOPClassUID === SopClass.SecondaryCaptureImageStorage);
    expect(sr?.tags).toMatchObject({
      StudyInstanceUID: study.studyInstanceUid,
      PatientID: study.patient.id,
      SOPClassUID: SopClass.ComprehensiveSR,
      CompletionFlag: 'COMPLETE',
      VerificationFlag: 'VERIFIED',
    });
    expect(sc?.tags).toMatchObject({ StudyInstanceUID: study.studyInstanceUid, PatientID: study.patient.id, Modality: 'OT', BurnedInAnnotation: 'YES' });
    expect(sc?.tags.ReferencedImageSequence).toEqual([expect.objectContaining({ ReferencedSOPInstanceUID: study.sopInstanceUid })]);
    expect(String(sc?.tags.SeriesDescription)).toMatch(/AI-generated, not for diagnosis/);

    // Sent again on purpose: the same objects (same UIDs), so the PACS still has one copy of each.
    const again = await exportReport(s, study.studyInstanceUid);
    expect(again.status).toBe(202);
    await waitFor('the second delivery', async () => ((await auditDetails(s, study.studyInstanceUid)).length === 2 ? true : undefined), 30_000, 100);
    await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'delivered');
    const after = await storedInstances(pacs);
    expect(after.map((i) => i.id).sort()).toEqual(instances.map((i) => i.id).sort());

    expect(await auditDetails(s, study.studyInstanceUid)).toEqual([
      { actor: 'integration-7', revision: signed.revision, detail: 'sent to the PACS (STOW-RS 200): verified SR and 1 overlay' },
      { actor: 'integration-7', revision: signed.revision, detail: 'sent to the PACS (STOW-RS 200): verified SR and 1 overlay' },
    ]);
    expect(await metricValue(s, 'delivered')).toBe(2);
    expectNoIdentifiersIn(s.logs, study);
  });

  test('holds the export of a report signed while the PACS is down and delivers it once the PACS is back, without anyone asking again', async () => {
    const port = await freePort(); // nothing listens there yet
    const s = await setUp({
      REPORT_PACS_STOW_URL: `http://127.0.0.1:${port}/dicom-web/`,
      REPORT_PACS_AUTHORIZATION: PACS_AUTHORIZATION,
      REPORT_PACS_SEND_ON_SIGN: 'true',
    });
    const { study, report } = await draftStudy(s);
    const signed = await sign(s, report!); // queues the export by itself

    const held = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'retrying' && x.attempts >= 2);
    expect(held.lastError).toBe('could not reach the PACS (ECONNREFUSED)');
    expect(Date.parse(held.nextAttemptAt!)).toBeGreaterThan(Date.parse(held.requestedAt));
    expect(held.requestedBy).toMatchObject({ sub: 'radiologist-7', role: 'radiologist' });
    expect(await metricValue(s, 'retrying')).toBeGreaterThanOrEqual(2);
    // Ops see it held: between attempts it is retrying, aged from when it was queued (at least the first 200 ms wait).
    let scrapedAt = 0;
    const gauges = await waitFor('the held export in the gauges', async () => {
      const text = (await request(s.app).get('/metrics')).text;
      scrapedAt = Date.now();
      const g = heldGauges(text);
      return g.retrying === 1 ? g : undefined;
    }, 10_000, 50);
    expect(gauges).toMatchObject({ queued: 0, sending: 0, retrying: 1 });
    expect(gauges.oldestHeldSeconds).toBeGreaterThanOrEqual(0.2);
    expect(gauges.oldestHeldSeconds).toBeLessThanOrEqual((scrapedAt - Date.parse(held.requestedAt)) / 1000);

    // The service restarts while the export is held; then the PACS comes back on its address.
    await s.restartWorker();
    const pacs = await startPacs(port);
    const delivered = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'delivered');
    expect(delivered.attempts).toBeGreaterThanOrEqual(3);
    expect(delivered.delivery).toMatchObject({ revision: signed.revision, signed: true, stored: 2, overlays: 1 });
    const modalities = (await storedInstances(pacs)).map((i) => i.tags.Modality).sort();
    expect(modalities).toEqual(['OT', 'SR']);
    expect(heldGauges((await request(s.app).get('/metrics')).text)).toEqual({ queued: 0, sending: 0, retrying: 0, oldestHeldSeconds: 0 });
    const [entry] = await auditDetails(s, study.studyInstanceUid);
    expect(entry).toEqual({
      actor: 'radiologist-7',
      revision: signed.revision,
      detail: `sent to the PACS (STOW-RS 200): verified SR and 1 overlay after ${delivered.attempts} attempts`,
    });
    expectNoIdentifiersIn(s.logs, study);
  });

  test('sends the AI results as a TID 1500 SR, a Parametric Map, a fractional and a binary Segmentation when REPORT_PACS_OBJECTS names them, held while the PACS is down', async () => {
    const port = await freePort(); // nothing listens there yet
    const s = await setUp({
      REPORT_PACS_STOW_URL: `http://127.0.0.1:${port}/dicom-web/`,
      REPORT_PACS_AUTHORIZATION: PACS_AUTHORIZATION,
      REPORT_PACS_SEND_ON_SIGN: 'true',
      REPORT_PACS_OBJECTS: 'report-sr,ai-sr,pmap,seg,seg-binary',
    });
    const { study, report } = await draftStudy(s);
    const signed = await sign(s, report!);
    await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'retrying' && x.attempts >= 1);
    const pacs = await startPacs(port);
    const delivered = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'delivered');
    expect(delivered.delivery).toMatchObject({
      revision: signed.revision,
      stored: 5,
      overlays: 0,
      aiResults: { measurementReports: 1, parametricMaps: 1, segmentations: 1, binarySegmentations: 1 },
    });
    const instances = await storedInstances(pacs);
    expect(instances.map((i) => String(i.tags.SOPClassUID)).sort()).toEqual(
      [SopClass.ComprehensiveSR, SopClass.Comprehensive3DSR, SopClass.ParametricMapStorage, SopClass.SegmentationStorage, SopClass.SegmentationStorage].sort(),
    );
    for (const instance of instances) expect(instance.tags).toMatchObject({ StudyInstanceUID: study.studyInstanceUid, PatientID: study.patient.id });
    const seg = instances.find((i) => i.tags.SOPClassUID === SopClass.SegmentationStorage && i.tags.SegmentationType === 'FRACTIONAL')!;
    expect(seg.tags).toMatchObject({ Modality: 'SEG', SeriesNumber: '904' });
    expect((seg.tags.SegmentSequence as unknown[]).length).toBe(report!.findings.length);
    // The binary one: a segment for each finding called present only (the fixture's effusion, hot in its box).
    const binary = instances.find((i) => i.tags.SOPClassUID === SopClass.SegmentationStorage && i.tags.SegmentationType === 'BINARY')!;
    expect(binary.tags).toMatchObject({ Modality: 'SEG', SeriesNumber: '905' });
    expect((binary.tags.SegmentSequence as Array<{ SegmentLabel: string }>).map((x) => x.SegmentLabel)).toEqual(report!.findings.filter((f) => f.positive).map((f) => f.display));
    const pmap = instances.find((i) => i.tags.SOPClassUID === SopClass.ParametricMapStorage)!;
    expect(String(pmap.tags.SeriesDescription)).toMatch(/AI generated, not validated/);
    const [entry] = await auditDetails(s, study.studyInstanceUid);
    expect(entry?.detail).toMatch(
      /^sent to the PACS \(STOW-RS 200\): verified SR; AI results: TID 1500 measurement report, 1 parametric map, 1 segmentation, 1 binary segmentation after \d+ attempts$/,
    );

    // Sent again: the same AI objects (UIDs per study, analysis and image), so one copy of each.
    expect((await exportReport(s, study.studyInstanceUid)).status).toBe(202);
    await waitFor('the second delivery', async () => ((await auditDetails(s, study.studyInstanceUid)).length === 2 ? true : undefined), 30_000, 100);
    expect((await storedInstances(pacs)).map((i) => i.id).sort()).toEqual(instances.map((i) => i.id).sort());
    expectNoIdentifiersIn(s.logs, study);
  });

  test('sends an unsigned draft only when asked to, as a partial, unverified, preliminary SR', async () => {
    const pacs = await startPacs();
    const s = await setUp({ REPORT_PACS_STOW_URL: pacs.dicomWebUrl, REPORT_PACS_AUTHORIZATION: PACS_AUTHORIZATION });
    const { study } = await draftStudy(s);
    const refused = await exportReport(s, study.studyInstanceUid, 'radiologist');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('report-not-signed');

    const accepted = await exportReport(s, study.studyInstanceUid, 'radiologist', { allowDraft: true });
    expect(accepted.status).toBe(202);
    const delivered = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'delivered');
    expect(delivered).toMatchObject({ allowDraft: true, delivery: { signed: false, overlays: 1 } });
    const sr = (await storedInstances(pacs)).find((i) => i.tags.Modality === 'SR');
    expect(sr?.tags).toMatchObject({ CompletionFlag: 'PARTIAL', VerificationFlag: 'UNVERIFIED', PreliminaryFlag: 'PRELIMINARY' });
    expect((await auditDetails(s, study.studyInstanceUid)).map((e) => e.detail)).toEqual(['sent to the PACS (STOW-RS 200): unverified draft SR and 1 overlay']);
  });

  test('fails for good, with the reason in the state and the audit trail, when the PACS refuses the credentials', async () => {
    const pacs = await startPacs();
    const s = await setUp({ REPORT_PACS_STOW_URL: pacs.dicomWebUrl, REPORT_PACS_AUTHORIZATION: `Basic ${Buffer.from(`${PACS_USER}:wrong`).toString('base64')}` });
    const { study, report } = await draftStudy(s);
    const signed = await sign(s, report!);
    expect((await exportReport(s, study.studyInstanceUid)).status).toBe(202);
    const failed = await waitForExport(s, study.studyInstanceUid, (x) => x.state === 'failed');
    expect(failed).toMatchObject({ attempts: 1, delivery: null, nextAttemptAt: null });
    expect(failed.failureReason).toBe('the PACS answered 401: check REPORT_PACS_AUTHORIZATION and the PACS\'s permissions');
    expect(await auditDetails(s, study.studyInstanceUid)).toEqual([
      { actor: 'integration-7', revision: signed.revision, detail: `sending to the PACS failed: ${failed.failureReason}` },
    ]);
    expect(await pacs.instanceIds()).toEqual([]);
    expect(await metricValue(s, 'failed')).toBe(1);
  });
});

describe('refusing PACS exports that cannot be queued', () => {
  test('answers 503 without a PACS, 409 for a pending report, 403 for a viewer, 412 for a stale If-Match and 404 before any export', async () => {
    const s = await setUp({ REPORT_PACS_STOW_URL: `http://127.0.0.1:${await freePort()}/dicom-web` });
    const { study } = await draftStudy(s, { analyse: false });
    const bearer = async (role: 'viewer' | 'radiologist' | 'integration') => `Bearer ${await s.token(role)}`;

    // The harness's own app is the service without REPORT_PACS_STOW_URL.
    const unconfigured = await request(s.svc.app).post(exportPath(study.studyInstanceUid)).set('Authorization', await bearer('radiologist'));
    expect(unconfigured.status).toBe(503);
    expect(unconfigured.body.error).toMatchObject({ code: 'pacs-not-configured', message: expect.stringMatching(/REPORT_PACS_STOW_URL/) });
    expect((await request(s.svc.app).get(exportPath(study.studyInstanceUid)).set('Authorization', await bearer('viewer'))).status).toBe(503);

    const pending = await exportReport(s, study.studyInstanceUid, 'radiologist', { allowDraft: true });
    expect(pending.status).toBe(409);
    expect(pending.body.error.code).toBe('nothing-to-export');

    expect((await request(s.app).post(exportPath(study.studyInstanceUid)).set('Authorization', await bearer('viewer'))).status).toBe(403);
    const stale = await request(s.app).post(exportPath(study.studyInstanceUid)).set({ Authorization: await bearer('radiologist'), 'If-Match': '"r0-stale"' }).send({ allowDraft: true });
    expect(stale.status).toBe(412);
    expect(stale.headers.etag).toMatch(/^"r0-/);
    const malformed = await exportReport(s, study.studyInstanceUid, 'radiologist', { allowDraft: 'yes' });
    expect(malformed.status).toBe(400);

    const none = await exportStatus(s, study.studyInstanceUid);
    expect(none.status).toBe(404);
    expect((none.body as unknown as { error: { code: string } }).error.code).toBe('no-pacs-export');
    expect((await request(s.app).get(exportPath('1.2.3.999')).set('Authorization', await bearer('viewer'))).status).toBe(404);
  });
});

describe('the gauges of exports held for the PACS', () => {
  test('keep their last values when Redis cannot be reached, rather than failing the scrape', async () => {
    const own = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis-gauges') });
    // As main.ts gives the API's queue: a request connection, which fails fast while Redis is down.
    const connection = createRequestConnection(own.url);
    connection.on('error', () => undefined);
    const queue = new Queue(QUEUE_NAMES.pacsExport, { connection, prefix: `pacs-gauges-${randomKey().slice(0, 8)}` });
    queue.on('error', () => undefined);
    cleanups.push(async () => {
      await queue.close().catch(() => undefined);
      connection.disconnect();
      await own.stop();
    });
    const registry = new prom.Registry();
    createPacsExportMetrics(registry, { queue });
    createPacsExportMetrics(registry, { queue }); // a second caller in the process (API + worker) shares them
    expect(heldGauges(await registry.metrics())).toEqual({ queued: 0, sending: 0, retrying: 0, oldestHeldSeconds: 0 });

    // No worker runs here: one export stays queued, two stay held (delayed) for a minute.
    const queuedAt = Date.now();
    await queue.add('export', { note: 'queued' }, { jobId: 'gauges-queued' });
    await queue.add('export', { note: 'held' }, { jobId: 'gauges-held-1', delay: 60_000 });
    await queue.add('export', { note: 'held' }, { jobId: 'gauges-held-2', delay: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const up = heldGauges(await registry.metrics());
    expect(up).toMatchObject({ queued: 1, sending: 0, retrying: 2 });
    expect(up.oldestHeldSeconds).toBeGreaterThanOrEqual(0.05);
    expect(up.oldestHeldSeconds).toBeLessThanOrEqual((Date.now() - queuedAt) / 1000);

    await own.stop();
    const started = Date.now();
    expect(heldGauges(await registry.metrics())).toEqual(up);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
