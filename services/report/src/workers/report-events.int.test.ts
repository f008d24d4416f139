import sharp from 'sharp';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { AI_DRAFT_DISCLAIMER, apiErrorSchema, objectKeys, reportResponseSchema, type ReportResponse, type ReportStatus } from '@cxr/contracts';
import {
  analysisCompletedEvent,
  analysisFailedEvent,
  analysisResult,
  fixtureHeatmap,
  fixtureImage,
  putAnalysisOutputs,
  withInlineHeatmaps,
  randomKey,
  studyReceivedEvent,
  type FixtureImage,
} from '../testing/fixtures.test-support.ts';
import type { RedisServerHandle, S3ServerHandle } from '@cxr/devstack';
import { startBackingServers, type BackingServers, startReportServiceHarness, type ReportServiceHarness } from '../testing/report-service.test-support.ts';

// One redis-server and one s3rver for the file; each test gets its own queue prefix and
// buckets (the harness), removed after it.
let servers: BackingServers;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let svc: ReportServiceHarness;
let viewerToken: string;

beforeAll(async () => {
  servers = await startBackingServers('report-int');
  ({ redis, s3 } = servers);
});
afterAll(async () => {
  await servers?.stop();
});
beforeEach(async () => {
  svc = await startReportServiceHarness({ redisUrl: redis.url, s3Endpoint: s3.endpoint });
  viewerToken = await svc.token('viewer');
});
afterEach(async () => {
  await svc.close();
});

async function getReport(studyInstanceUid: string) {
  return request(svc.app).get(`/api/studies/${studyInstanceUid}/report`).set('Authorization', `Bearer ${viewerToken}`);
}

async function waitForStatus(studyInstanceUid: string, status: ReportStatus, timeoutMs = 20_000): Promise<ReportResponse> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await getReport(studyInstanceUid);
    last = res.body;
    if (res.status === 200 && res.body.status === status) return reportResponseSchema.parse(res.body);
    if (Date.now() > deadline) throw new Error(`report never reached ${status}; last answer ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The path and query of an absolute URL from the report, to request from the app. */
function localPath(url: string): string {
  const parsed = new URL(url);
  expect(parsed.origin).toBe('http://report.example.test:8090');
  return parsed.pathname + parsed.search;
}

/** Fetches an image by its signed URL, with no token (as an <img src> would). */
async function getPng(url: string): Promise<Buffer> {
  const res = await request(svc.app)
    .get(localPath(url))
    .buffer(true)
    .parse((response, callback) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('image/png');
  return res.body as Buffer;
}

async function analysedStudy(images: FixtureImage[] = [fixtureImage(300, 400)], version = 1, layout: 'heatmap objects' | 'inline heatmaps' = 'heatmap objects') {
  const studyKey = randomKey();
  const stored = analysisResult(studyKey, version, images);
  const result = layout === 'inline heatmaps' ? await withInlineHeatmaps(stored) : stored;
  const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
  const received = studyReceivedEvent(studyKey, version, images);
  return { studyKey, result, received, completed: analysisCompletedEvent(result, resultKey) };
}

describe('report-events consumer and report API', () => {
  test('composes a draft with overlays once a study is received and its analysis completes', async () => {
    const image = fixtureImage(300, 400);
    const { received, completed, result } = await analysedStudy([image]);
    await svc.addEvent(received);
    await svc.addEvent(completed);

    const report = await waitForStatus(received.studyInstanceUid, 'draft');
    expect(report).toMatchObject({
      studyInstanceUid: received.studyInstanceUid,
      statusReason: null,
      aiGenerated: true,
      signed: false,
      disclaimer: AI_DRAFT_DISCLAIMER,
      priority: 'routine',
      analysisVersion: 1,
      revision: 1,
      model: { id: 'cxr-reference', version: '0.1.0', sha256: result.model.sha256 },
      sections: { findings: 'Blunting of the right costophrenic angle.', impression: 'Right pleural effusion.' },
    });
    expect(report.text.split('\n')[0]).toBe(AI_DRAFT_DISCLAIMER);
    expect(report.text).toContain('FINDINGS:\nBlunting of the right costophrenic angle.\n\nIMPRESSION:\nRight pleural effusion.');
    expect(report.findings.map((f) => [f.code, f.probability, f.threshold, f.positive, f.sopInstanceUid])).toEqual([
      ['pleural-effusion', 0.91, 0.5, true, image.sopInstanceUid],
      ['pneumothorax', 0.12, 0.4, false, image.sopInstanceUid],
    ]);

    const finding = report.findings[0]!;
    const overlay = await sharp(await getPng(finding.overlayUrl)).metadata();
    expect(overlay.format).toBe('png');
    expect(overlay.width! / overlay.height!).toBeCloseTo(300 / 400, 5);
    expect([overlay.width, overlay.height]).toEqual([300, 400]);

    const heatmap = await getPng(finding.heatmapUrl);
    const stored = await svc.objects.get(svc.config.buckets.derived, result.images[0]!.findings[0]!.heatmapKey!);
    expect(heatmap.equals(stored)).toBe(true);

    // The overlay is stored where the layout says, in the reports bucket.
    const overlayKey = objectKeys.overlay(received.studyKey, 1, image.instanceKey, 'pleural-effusion');
    expect(await svc.objects.stat(svc.config.buckets.reports, overlayKey)).not.toBeNull();

    const metrics = await request(svc.app).get('/metrics');
    expect(metrics.text).toMatch(/cxr_report_events_processed_total\{[^}]*type="analysis-completed"[^}]*outcome="applied"[^}]*\} 1/);
    expect(metrics.text).toMatch(/cxr_report_reports\{[^}]*status="draft"[^}]*\} 1/);
    expect(metrics.text).toMatch(/cxr_report_draft_composition_seconds_count\{[^}]*\} 1/);
  });

  test('composes a draft from a result with inline heatmaps, and serves each finding\'s heatmap PNG out of it', async () => {
    const image = fixtureImage(300, 400);
    const { received, completed, result } = await analysedStudy([image], 1, 'inline heatmaps');
    expect(await svc.objects.list(svc.config.buckets.derived, `results/${result.studyKey}/`)).toEqual([completed.resultKey]);
    await svc.addEvent(received);
    await svc.addEvent(completed);
    const report = await waitForStatus(received.studyInstanceUid, 'draft');
    expect(report.findings.map((f) => f.code)).toEqual(['pleural-effusion', 'pneumothorax']);
    const effusion = report.findings[0]!;
    // Side, zone and region are read from the heatmap: the same as from the same map stored as an object.
    const legacy = await analysedStudy([fixtureImage(300, 400)], 1, 'heatmap objects');
    await svc.addEvent(legacy.received);
    await svc.addEvent(legacy.completed);
    const legacyReport = await waitForStatus(legacy.received.studyInstanceUid, 'draft');
    expect([effusion.side, effusion.zone, effusion.region]).toEqual([legacyReport.findings[0]!.side, legacyReport.findings[0]!.zone, legacyReport.findings[0]!.region]);
    expect(effusion.side).not.toBeNull();

    const overlay = await getPng(effusion.overlayUrl);
    expect(overlay.equals(await getPng(legacyReport.findings[0]!.overlayUrl))).toBe(true);
    expect((await getPng(effusion.heatmapUrl)).equals(await fixtureHeatmap())).toBe(true);
    expect((await getPng(report.findings[1]!.heatmapUrl)).equals(Buffer.from(result.images[0]!.findings[1]!.heatmapPng!, 'base64'))).toBe(true);
  });

  test('compares with the prior study ingest found: an effusion negative on the prior is new', async () => {
    const prior = await analysedStudy();
    // The prior's effusion was below the threshold.
    const negative = { ...prior.result, images: prior.result.images.map((i) => ({ ...i, findings: i.findings.map((f) => (f.code === 'pleural-effusion' ? { ...f, probability: 0.2, positive: false } : f)), text: { findings: 'No effusion.', impression: 'No acute abnormality.' } })) };
    const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, negative);
    await svc.addEvent(prior.received);
    await svc.addEvent(analysisCompletedEvent(negative, resultKey));
    await waitForStatus(prior.received.studyInstanceUid, 'draft');

    const current = await analysedStudy();
    await svc.addEvent({ ...current.received, priors: { priors: [{ studyKey: prior.studyKey, studyDate: '2026-11-02', source: 'local' }], unanswered: [] } });
    // Ingest sends study-received (with the look-up) before it queues the analysis.
    await waitForStatus(current.received.studyInstanceUid, 'pending');
    await svc.addEvent(current.completed);
    const report = await waitForStatus(current.received.studyInstanceUid, 'draft');
    expect(report.sections.comparison).toMatch(/^Compared with 2026-11-02: new .*pleural effusion\.$/);
    expect(report.text).toContain(`COMPARISON:\n${report.sections.comparison}\n\nFINDINGS:`);

    // The viewer shows the prior beside it: its date, its preview and its own findings.
    expect(report.priorStudy).toMatchObject({ studyInstanceUid: prior.received.studyInstanceUid, studyDate: '2026-11-02' });
    expect(report.priorStudy!.findings.map((f) => [f.code, f.positive])).toEqual([['pleural-effusion', false], ['pneumothorax', false]]);
    const preview = await sharp(await getPng(report.priorStudy!.images[0]!.previewUrl)).metadata();
    expect([preview.width, preview.height]).toEqual([300, 400]);
  });

  test('keeps the comparison when the analysis result is consumed before the study-received that carries the look-up', async () => {
    const prior = await analysedStudy();
    await svc.addEvent(prior.received);
    await svc.addEvent(prior.completed);
    await waitForStatus(prior.received.studyInstanceUid, 'draft');

    const current = await analysedStudy();
    // The two events of one version are consumed concurrently: here the result comes first.
    await svc.addEvent(current.completed);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await svc.addEvent({ ...current.received, priors: { priors: [{ studyKey: prior.studyKey, studyDate: '2026-09-15', source: 'local' }], unanswered: [] } });
    const report = await waitForStatus(current.received.studyInstanceUid, 'draft');
    expect(report.sections.comparison).toMatch(/^Compared with 2026-09-15: /);
    expect(report.priorStudy).toMatchObject({ studyInstanceUid: prior.received.studyInstanceUid });
  });

  test('keeps a prior fetched from a PACS off the worklist and out of the counts, while its analysis still serves the comparison', async () => {
    const prior = await analysedStudy();
    const negative = { ...prior.result, images: prior.result.images.map((i) => ({ ...i, findings: i.findings.map((f) => (f.code === 'pleural-effusion' ? { ...f, probability: 0.2, positive: false } : f)), text: { findings: 'No effusion.', impression: 'No acute abnormality.' } })) };
    const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, negative);
    await svc.addEvent({ ...prior.received, role: 'prior' });
    await svc.addEvent(analysisCompletedEvent(negative, resultKey));
    const priorReport = await waitForStatus(prior.received.studyInstanceUid, 'draft');
    expect(priorReport.role).toBe('prior');

    const current = await analysedStudy();
    await svc.addEvent({ ...current.received, priors: { priors: [{ studyKey: prior.studyKey, studyDate: '2026-11-02', source: 'pacs' }], unanswered: [] } });
    await waitForStatus(current.received.studyInstanceUid, 'pending');
    await svc.addEvent(current.completed);
    const report = await waitForStatus(current.received.studyInstanceUid, 'draft');
    expect(report.role).toBeUndefined();
    expect(report.sections.comparison).toMatch(/^Compared with 2026-11-02: new .*pleural effusion/);
    expect(report.priorStudy).toMatchObject({ studyInstanceUid: prior.received.studyInstanceUid });

    // Every status, every priority: only the current study is anybody's work.
    const worklist = await request(svc.app).get('/api/studies?limit=100').set('Authorization', `Bearer ${viewerToken}`);
    expect(worklist.status).toBe(200);
    expect(worklist.body.items.map((i: { studyInstanceUid: string }) => i.studyInstanceUid)).toEqual([current.received.studyInstanceUid]);
    const metrics = await request(svc.app).get('/metrics');
    expect(metrics.text).toMatch(/cxr_report_reports\{[^}]*status="draft"[^}]*\} 1\n/);
  });

  test("waits for a prior whose analysis is still running, so the comparison is not lost to the order of the two analyses", async () => {
    const prior = await analysedStudy();
    await svc.addEvent(prior.received);
    await waitForStatus(prior.received.studyInstanceUid, 'pending');

    const current = await analysedStudy();
    await svc.addEvent({ ...current.received, priors: { priors: [{ studyKey: prior.studyKey, studyDate: '2026-10-01', source: 'local' }], unanswered: [] } });
    await waitForStatus(current.received.studyInstanceUid, 'pending');
    // The current study's analysis finishes first; the prior's a moment later.
    await svc.addEvent(current.completed);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await svc.addEvent(prior.completed);
    const report = await waitForStatus(current.received.studyInstanceUid, 'draft');
    expect(report.sections.comparison).toMatch(/^Compared with 2026-10-01: the .*pleural effusion is unchanged\.$/);
  });

  test("recomposes the comparison of an untouched draft when the prior's analysis comes after the wait, and leaves an edited one alone", async () => {
    await svc.close();
    svc = await startReportServiceHarness({ redisUrl: redis.url, s3Endpoint: s3.endpoint }, { REPORT_PRIOR_WAIT_MS: '200' });
    viewerToken = await svc.token('viewer');
    const radiologist = { Authorization: `Bearer ${await svc.token('radiologist', 'rad-1', 'Dr Reader')}` };
    const negativePrior = async () => {
      const prior = await analysedStudy();
      const negative = { ...prior.result, images: prior.result.images.map((i) => ({ ...i, findings: i.findings.map((f) => (f.code === 'pleural-effusion' ? { ...f, probability: 0.2, positive: false } : f)), text: { findings: 'No effusion.', impression: 'No acute abnormality.' } })) };
      const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, negative);
      expect(await svc.waitForJob(await svc.addEvent({ ...prior.received, role: 'prior' }))).toBe('completed');
      return { prior, completed: analysisCompletedEvent(negative, resultKey) };
    };
    const draftWithoutPrior = async (priorKey: string) => {
      const current = await analysedStudy();
      expect(await svc.waitForJob(await svc.addEvent({ ...current.received, priors: { priors: [{ studyKey: priorKey, studyDate: '2026-10-01', source: 'pacs' }], unanswered: [] } }))).toBe('completed');
      expect(await svc.waitForJob(await svc.addEvent(current.completed))).toBe('completed');
      const draft = await waitForStatus(current.received.studyInstanceUid, 'draft');
      expect(draft.sections.comparison).toBe('Prior study of 2026-10-01 not yet analysed; no comparison was made.');
      return { current, draft };
    };

    // Untouched: the prior's late analysis gives the draft its comparison, as a new AI draft revision.
    const first = await negativePrior();
    const untouched = await draftWithoutPrior(first.prior.studyKey);
    expect(await svc.waitForJob(await svc.addEvent(first.completed))).toBe('completed');
    const recomposed = await waitForStatus(untouched.current.received.studyInstanceUid, 'draft');
    expect(recomposed.sections.comparison).toMatch(/^Compared with 2026-10-01: new .*pleural effusion\.$/);
    expect(recomposed.text).toContain(`COMPARISON:\n${recomposed.sections.comparison}\n\nFINDINGS:`);
    expect([recomposed.revision, recomposed.revisionKind, recomposed.signed, recomposed.edited]).toEqual([untouched.draft.revision + 1, 'ai-draft', false, false]);
    expect(recomposed.sections.findings).toBe(untouched.draft.sections.findings);
    const findingsOf = (r: ReportResponse) => r.findings.map((f) => [f.code, f.sopInstanceUid, f.probability, f.positive, f.side, f.zone]);
    expect(findingsOf(recomposed)).toEqual(findingsOf(untouched.draft));

    // Edited by a person: left as the radiologist has it.
    const second = await negativePrior();
    const edited = await draftWithoutPrior(second.prior.studyKey);
    const path = `/api/studies/${edited.current.received.studyInstanceUid}/report`;
    const put = await request(svc.app).put(path).set(radiologist).set('If-Match', edited.draft.etag).send({ sections: { ...edited.draft.sections, findings: 'Right pleural effusion, as before.' } });
    expect(put.status).toBe(200);
    expect(await svc.waitForJob(await svc.addEvent(second.completed))).toBe('completed');
    await waitForStatus(second.prior.received.studyInstanceUid, 'draft');
    const left = reportResponseSchema.parse((await getReport(edited.current.received.studyInstanceUid)).body);
    expect([left.edited, left.revisionKind, left.revision, left.sections.comparison]).toEqual([true, 'edit', put.body.revision, 'Prior study of 2026-10-01 not yet analysed; no comparison was made.']);
  });

  test('says the prior look-up timed out when a PACS did not answer, and has no COMPARISON when ingest did not look', async () => {
    const late = await analysedStudy();
    await svc.addEvent({ ...late.received, priors: { priors: [], unanswered: [{ source: 'main', reason: 'timed-out', detail: 'no answer within 10 s' }] } });
    await waitForStatus(late.received.studyInstanceUid, 'pending');
    await svc.addEvent(late.completed);
    expect((await waitForStatus(late.received.studyInstanceUid, 'draft')).sections.comparison).toBe('None: prior lookup timed out (main: no answer within 10 s); no comparison was made.');

    const unlooked = await analysedStudy();
    await svc.addEvent(unlooked.received);
    await svc.addEvent(unlooked.completed);
    const report = await waitForStatus(unlooked.received.studyInstanceUid, 'draft');
    expect(report.sections.comparison).toBeUndefined();
    expect(report.text).not.toContain('COMPARISON:');
  });

  test('shows the draft when analysis-completed is processed before study-received, which did not come within the wait', async () => {
    // The result waits for its study-received at most REPORT_PRIOR_WAIT_MS, then is drafted without it.
    await svc.close();
    svc = await startReportServiceHarness({ redisUrl: redis.url, s3Endpoint: s3.endpoint }, { REPORT_PRIOR_WAIT_MS: '500' });
    const { received, completed } = await analysedStudy();
    expect(await svc.waitForJob(await svc.addEvent(completed))).toBe('completed');
    // Not identified yet: the API cannot know it by UID.
    expect((await getReport(received.studyInstanceUid)).status).toBe(404);

    await svc.addEvent(received);
    const report = await waitForStatus(received.studyInstanceUid, 'draft');
    expect(report.revision).toBe(1);
    expect(report.findings).toHaveLength(2);
    expect(report.findings.every((f) => f.sopInstanceUid === received.images[0]!.sopInstanceUid)).toBe(true);
  });

  test('processing the same analysis-completed event twice leaves one revision and the same findings', async () => {
    const { studyKey, received, completed } = await analysedStudy();
    await svc.addEvent(received);
    await svc.addEvent(completed);
    const first = await waitForStatus(received.studyInstanceUid, 'draft');

    // At-least-once delivery: the same event again, as a second job.
    const again = await svc.addEvent(completed, 'redelivered-analysis-completed');
    expect(await svc.waitForJob(again)).toBe('completed');
    expect((await svc.queue.getJob(again))?.returnvalue).toEqual({ outcome: 'duplicate' });

    const second = reportResponseSchema.parse((await getReport(received.studyInstanceUid)).body);
    expect(second.revision).toBe(first.revision);
    // The same findings; the signed image URLs differ only in their expiry.
    const unsigned = (r: ReportResponse) => r.findings.map(({ overlayUrl: _o, heatmapUrl: _h, ...rest }) => rest);
    expect(unsigned(second)).toEqual(unsigned(first));
    expect(second.etag).toBe(first.etag);
    expect(second.text).toBe(first.text);
    expect(await svc.reports.listRevisions(studyKey)).toEqual([1]);
  });

  test('reports a study that is not eligible, with the reasons ingest gave', async () => {
    const studyKey = randomKey();
    const received = studyReceivedEvent(studyKey, 1, [], {
      eligible: false,
      instanceCount: 2,
      ineligibleReasons: ['instance 1: modality CT is not a chest radiograph', 'instance 2: no pixel data'],
    });
    await svc.addEvent(received);
    const report = await waitForStatus(received.studyInstanceUid, 'not-eligible');
    expect(report.statusReason).toBe('instance 1: modality CT is not a chest radiograph; instance 2: no pixel data');
    expect(report).toMatchObject({ revision: 0, findings: [], model: null, text: '', aiGenerated: true, signed: false });
  });

  test('reports a failed analysis with the worker\'s reason', async () => {
    const studyKey = randomKey();
    const received = studyReceivedEvent(studyKey, 1, [fixtureImage()], { priority: 'stat' });
    await svc.addEvent(received);
    expect((await waitForStatus(received.studyInstanceUid, 'pending')).priority).toBe('stat');

    await svc.addEvent(analysisFailedEvent(studyKey, 1, 'model input: image is not a frontal chest radiograph'));
    const report = await waitForStatus(received.studyInstanceUid, 'failed');
    expect(report).toMatchObject({ statusReason: 'model input: image is not a frontal chest radiograph', findings: [], revision: 0 });
  });

  test('fails a study whose analysis result does not match the contract, without retrying', async () => {
    const { received, completed } = await analysedStudy();
    await svc.objects.putJson(svc.config.buckets.derived, completed.resultKey, { schemaVersion: 1, nonsense: true });
    await svc.addEvent(received);
    const jobId = await svc.addEvent(completed);
    expect(await svc.waitForJob(jobId)).toBe('failed');
    expect((await svc.queue.getJob(jobId))?.attemptsMade).toBe(1);
    const report = await waitForStatus(received.studyInstanceUid, 'failed');
    expect(report.statusReason).toMatch(/^The analysis result could not be used: result does not match its schema/);
  });

  test('keeps the latest version and ignores a late event for an older one', async () => {
    const v1 = await analysedStudy();
    await svc.addEvent(v1.received);
    await svc.addEvent(v1.completed);
    await waitForStatus(v1.received.studyInstanceUid, 'draft');

    // A late instance: ingest re-announces the study as version 2, to be analysed again.
    const v2Received = { ...v1.received, version: 2, receivedAt: '2026-01-02T04:00:00.000Z' };
    await svc.addEvent(v2Received);
    const pending = await waitForStatus(v1.received.studyInstanceUid, 'pending');
    expect(pending).toMatchObject({ analysisVersion: 2, revision: 0, findings: [] });

    // The version 1 result delivered again, late: ignored.
    const late = await svc.addEvent(v1.completed, 'late-v1-analysis-completed');
    expect(await svc.waitForJob(late)).toBe('completed');
    expect((await svc.queue.getJob(late))?.returnvalue).toEqual({ outcome: 'stale-version' });
    expect(reportResponseSchema.parse((await getReport(v1.received.studyInstanceUid)).body)).toMatchObject({ status: 'pending', analysisVersion: 2 });

    // Version 2's analysis makes revision 2.
    const result2 = analysisResult(v1.studyKey, 2, v1.result.images.map((i) => ({ ...i, sopInstanceUid: v1.received.images[0]!.sopInstanceUid })));
    const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result2);
    await svc.addEvent(analysisCompletedEvent(result2, resultKey));
    const report = await waitForStatus(v1.received.studyInstanceUid, 'draft');
    expect(report).toMatchObject({ analysisVersion: 2, revision: 2 });
    expect(await svc.reports.listRevisions(v1.studyKey)).toEqual([1, 2]);
  });

  test('fails a job whose data is not a report event, without retrying', async () => {
    const jobId = await svc.addEvent({ type: 'study-received', studyKey: 'NOT A KEY' }, 'invalid-event');
    expect(await svc.waitForJob(jobId)).toBe('failed');
    const job = await svc.queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/^invalid report event: /);
  });

  test('answers 404 with a JSON error for an unknown study', async () => {
    const res = await getReport('1.2.826.0.1.3680043.8.498.999999');
    expect(res.status).toBe(404);
    expect(apiErrorSchema.parse(res.body).error.code).toBe('study-not-found');
  });

  test('answers 400 for a malformed study instance UID', async () => {
    const res = await getReport('1.2.03.abc');
    expect(res.status).toBe(400);
    expect(apiErrorSchema.parse(res.body).error.code).toBe('invalid-study-instance-uid');
  });

  test('answers 404 for a finding the draft does not have', async () => {
    const { received, completed } = await analysedStudy();
    await svc.addEvent(received);
    await svc.addEvent(completed);
    await waitForStatus(received.studyInstanceUid, 'draft');
    const res = await request(svc.app).get(`/api/studies/${received.studyInstanceUid}/report/findings/cardiomegaly/overlay.png`).set('Authorization', `Bearer ${viewerToken}`);
    expect(res.status).toBe(404);
    expect(apiErrorSchema.parse(res.body).error.code).toBe('finding-not-found');
  });

  test('says it is ready when Redis and storage answer', async () => {
    const res = await request(svc.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { redis: true, storage: true } });
  });
});
