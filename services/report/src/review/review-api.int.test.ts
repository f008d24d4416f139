import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  AI_ASSISTED_SIGNED_NOTICE,
  AI_DRAFT_DISCLAIMER,
  apiErrorSchema,
  auditTrailResponseSchema,
  objectKeys,
  reportResponseSchema,
  reportUpdatedEventSchema,
  revisionListResponseSchema,
  revisionResponseSchema,
  worklistResponseSchema,
  type ReportResponse,
  type ReportUpdatedEvent,
  type StudyPriority,
} from '@cxr/contracts';
import type { RedisServerHandle, S3ServerHandle } from '@cxr/devstack';
import { createLogger, createWorkerConnection } from '@cxr/platform';
import { composeDraft } from '../drafts/compose-draft.ts';
import { reindexReports } from '../state/reindex.ts';
import { reportUpdatesChannel } from '../state/report-store.ts';
import {
  analysisCompletedEvent,
  analysisFailedEvent,
  analysisResult,
  fixtureImage,
  putAnalysisOutputs,
  randomKey,
  studyReceivedEvent,
  type FixtureImage,
} from '../testing/fixtures.test-support.ts';
import { startBackingServers, type BackingServers, startReportServiceHarness, type ReportServiceHarness } from '../testing/report-service.test-support.ts';

// One redis-server and one s3rver for the file; each test starts the service on its own queue
// prefix and buckets (the harness), removed after it.
let servers: BackingServers;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let svc: ReportServiceHarness;
const tokens: Record<'viewer' | 'radiologist' | 'admin', string> = { viewer: '', radiologist: '', admin: '' };

beforeAll(async () => {
  servers = await startBackingServers('report-review-int');
  ({ redis, s3 } = servers);
});
afterAll(async () => {
  await servers?.stop();
});
afterEach(async () => {
  await svc?.close();
});

async function start(env: Record<string, string> = {}): Promise<void> {
  svc = await startReportServiceHarness({ redisUrl: redis.url, s3Endpoint: s3.endpoint }, env);
  tokens.viewer = await svc.token('viewer');
  tokens.radiologist = await svc.token('radiologist', 'rad-42', 'Dr. Ada Reader');
  tokens.admin = await svc.token('admin');
}

const auth = (role: keyof typeof tokens) => ({ Authorization: `Bearer ${tokens[role]}` });
const reportPath = (uid: string) => `/api/studies/${uid}/report`;

async function getReport(uid: string, role: keyof typeof tokens = 'viewer') {
  return request(svc.app).get(reportPath(uid)).set(auth(role));
}

async function waitForReport(uid: string, accept: (r: ReportResponse) => boolean, timeoutMs = 20_000): Promise<ReportResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getReport(uid);
    if (res.status === 200 && accept(res.body as ReportResponse)) return reportResponseSchema.parse(res.body);
    if (Date.now() > deadline) throw new Error(`report never reached the expected state; last ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface StudyOptions {
  priority?: StudyPriority;
  receivedAt?: string;
  /** Whether the fixture's pleural effusion is a positive finding (default yes). */
  effusion?: boolean;
  analyse?: boolean;
  /** The clinical question the analysis result carries. */
  indication?: string;
}

/** A study received (and analysed unless told not to), waited for until its report shows it. */
async function study(options: StudyOptions = {}) {
  const studyKey = randomKey();
  const images: FixtureImage[] = [fixtureImage(300, 400)];
  const received = studyReceivedEvent(studyKey, 1, images, {
    priority: options.priority ?? 'routine',
    ...(options.receivedAt ? { receivedAt: options.receivedAt } : {}),
  });
  const uid = received.studyInstanceUid;
  await svc.addEvent(received);
  if (options.analyse === false) {
    await waitForReport(uid, (r) => r.status === 'pending');
    return { studyKey, uid, images, received, report: null };
  }
  const result = { ...analysisResult(studyKey, 1, images), ...(options.indication !== undefined ? { indication: options.indication } : {}) };
  if (options.effusion === false) {
    const effusion = result.images[0]!.findings[0]!;
    Object.assign(effusion, { probability: 0.1, positive: false });
  }
  const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
  await svc.addEvent(analysisCompletedEvent(result, resultKey));
  const report = await waitForReport(uid, (r) => r.status === 'draft');
  return { studyKey, uid, images, received, report };
}

/** Version 2 of a study: received again (a late instance) and analysed. */
async function analyseAgain(s: Awaited<ReturnType<typeof study>>) {
  await svc.addEvent({ ...s.received, version: 2, receivedAt: '2026-01-02T05:00:00.000Z' });
  const result = analysisResult(s.studyKey, 2, s.images);
  const { resultKey } = await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
  const jobId = await svc.addEvent(analysisCompletedEvent(result, resultKey));
  expect(await svc.waitForJob(jobId)).toBe('completed');
}

const sections = { findings: 'Small right pleural effusion.', impression: 'Right pleural effusion.' };

function put(uid: string, etag: string | null, body: unknown, role: keyof typeof tokens = 'radiologist') {
  const req = request(svc.app).put(reportPath(uid)).set(auth(role));
  return (etag === null ? req : req.set('If-Match', etag)).send(body as object);
}

function post(uid: string, what: 'sign' | 'addenda', etag: string | null, body: unknown = {}) {
  const req = request(svc.app).post(`${reportPath(uid)}/${what}`).set(auth('radiologist'));
  return (etag === null ? req : req.set('If-Match', etag)).send(body as object);
}

function errorCode(res: request.Response): string {
  return apiErrorSchema.parse(res.body).error.code;
}

async function auditActions(uid: string): Promise<string[]> {
  const res = await request(svc.app).get(`${reportPath(uid)}/audit`).set(auth('admin'));
  expect(res.status).toBe(200);
  return auditTrailResponseSchema.parse(res.body).entries.map((e) => e.action);
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

describe('reading a report', () => {
  test('answers with the ETag in header and body, grounded sentences, signed image URLs, and audits the view', async () => {
    await start();
    const { uid, images, studyKey } = await study();
    const res = await getReport(uid);
    expect(res.status).toBe(200);
    const report = reportResponseSchema.parse(res.body);
    expect(res.headers.etag).toBe(report.etag);
    expect(report).toMatchObject({ status: 'draft', revision: 1, revisionKind: 'ai-draft', edited: false, signed: false, disclaimer: AI_DRAFT_DISCLAIMER, signature: null, addenda: [] });
    expect(report.findings.map((f) => [f.code, f.decision])).toEqual([
      ['pleural-effusion', null],
      ['pneumothorax', null],
    ]);
    expect(report.findings[0]!.confidence).toMatch(/^(high|moderate|low)$/);
    expect(report.sentences.map((s) => s.section)).toContain('impression');
    expect(report.sentences.find((s) => s.text.includes('effusion') && s.section === 'impression')?.finding?.code).toBe('pleural-effusion');
    expect(Date.parse(report.urlsExpireAt!)).toBeGreaterThan(Date.now());

    // The images open by their signed URLs without a token, and not without the signature.
    expect(report.images).toEqual([{ sopInstanceUid: images[0]!.sopInstanceUid, width: 300, height: 400, previewUrl: expect.stringContaining('signature=') }]);
    const preview = await request(svc.app).get(pathOf(report.images[0]!.previewUrl)).buffer(true);
    expect(preview.status).toBe(200);
    expect(preview.headers['content-type']).toBe('image/png');
    const stored = await svc.objects.get(svc.config.buckets.derived, objectKeys.preview(studyKey, images[0]!.instanceKey));
    expect(Buffer.compare(preview.body as Buffer, stored)).toBe(0);
    const unsigned = pathOf(report.findings[0]!.overlayUrl).replace(/&expires=.*$/, '');
    expect((await request(svc.app).get(unsigned)).status).toBe(401);
    const tampered = pathOf(report.findings[0]!.overlayUrl).replace('pleural-effusion', 'pneumothorax');
    expect((await request(svc.app).get(tampered)).status).toBe(401);
    expect((await request(svc.app).get(pathOf(report.findings[0]!.overlayUrl))).status).toBe(200);

    expect((await request(svc.app).get(reportPath(uid))).status).toBe(401);
    const actions = await auditActions(uid);
    expect(actions.filter((a) => a !== 'view')).toEqual(['ai-draft']);
    // Waiting for the draft viewed it too; then the GET above.
    expect(actions.filter((a) => a === 'view').length).toBeGreaterThanOrEqual(2);
  });

  test('the draft of a study with a clinical question has an INDICATION and an impression that answers it, and an edit keeps it', async () => {
    await start();
    const { uid, report } = await study({ indication: '? pneumothorax' });
    expect(report!.sections.indication).toBe('? pneumothorax');
    expect(report!.sections.impression.split('\n')[0]).toBe('No pneumothorax.');
    expect(report!.text).toContain('INDICATION:\n? pneumothorax\n\nFINDINGS:');
    const edited = await put(uid, report!.etag, { sections });
    expect(edited.status).toBe(200);
    const after = reportResponseSchema.parse((await getReport(uid)).body);
    expect(after.sections).toEqual({ ...sections, indication: '? pneumothorax' });
  });

  test('the audit trail is for admins and radiologists only', async () => {
    await start();
    const { uid } = await study();
    expect((await request(svc.app).get(`${reportPath(uid)}/audit`).set(auth('viewer'))).status).toBe(403);
    expect((await request(svc.app).get(`${reportPath(uid)}/audit`).set(auth('radiologist'))).status).toBe(200);
  });

  test('a failed analysis is in the audit trail', async () => {
    await start();
    const { uid, studyKey } = await study({ analyse: false });
    await svc.addEvent(analysisFailedEvent(studyKey, 1, 'decoder crashed'));
    await waitForReport(uid, (r) => r.status === 'failed');
    const res = await request(svc.app).get(`${reportPath(uid)}/audit`).set(auth('admin'));
    const entry = auditTrailResponseSchema.parse(res.body).entries.find((e) => e.action === 'analysis-failed');
    expect(entry).toMatchObject({ actor: { role: 'system' }, revision: null, detail: 'analysis version 1 failed: decoder crashed' });
  });
});

describe('editing a draft', () => {
  test('an edit with the current ETag makes an edit revision; a stale ETag gets 412 with the current tag and changes nothing', async () => {
    await start();
    const { uid, images, report } = await study();
    const sop = images[0]!.sopInstanceUid;
    const body = { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] };

    const missing = await put(uid, null, body);
    expect(missing.status).toBe(428);
    expect(errorCode(missing)).toBe('precondition-required');
    expect((await put(uid, report!.etag, body, 'viewer')).status).toBe(403);

    const edited = await put(uid, report!.etag, body);
    expect(edited.status).toBe(200);
    const after = reportResponseSchema.parse(edited.body);
    expect(edited.headers.etag).toBe(after.etag);
    expect(after.etag).not.toBe(report!.etag);
    expect(after).toMatchObject({ revision: 2, revisionKind: 'edit', edited: true, sections, status: 'draft', signed: false, disclaimer: AI_DRAFT_DISCLAIMER });
    expect(after.findings.find((f) => f.code === 'pleural-effusion')?.decision).toBe('accepted');
    expect(after.text).toContain('FINDINGS:\nSmall right pleural effusion.');

    const stale = await put(uid, report!.etag, { sections: { findings: 'Lost update?', impression: 'x' }, decisions: [] });
    expect(stale.status).toBe(412);
    expect(errorCode(stale)).toBe('precondition-failed');
    expect(stale.headers.etag).toBe(after.etag);
    const now = reportResponseSchema.parse((await getReport(uid)).body);
    expect(now).toMatchObject({ revision: 2, sections, etag: after.etag });

    const revisions = revisionListResponseSchema.parse((await request(svc.app).get(`${reportPath(uid)}/revisions`).set(auth('viewer'))).body);
    expect(revisions.revisions.map((r) => [r.revision, r.kind, r.basedOn, r.author.sub])).toEqual([
      [1, 'ai-draft', null, 'system:ai-draft'],
      [2, 'edit', 1, 'rad-42'],
    ]);
    const first = revisionResponseSchema.parse((await request(svc.app).get(`${reportPath(uid)}/revisions/1`).set(auth('viewer'))).body);
    expect(first).toMatchObject({ revision: 1, current: false, edited: false, sections: report!.sections, decisions: [] });
    expect((await request(svc.app).get(`${reportPath(uid)}/revisions/7`).set(auth('viewer'))).status).toBe(404);
    expect((await request(svc.app).get(`${reportPath(uid)}/revisions/x`).set(auth('viewer'))).status).toBe(400);
    expect(await auditActions(uid)).toContain('edit');
  });

  test('two edits sent with the same ETag at once: one is applied, the other gets 412', async () => {
    await start();
    const { uid, report } = await study();
    const results = await Promise.all(
      ['First.', 'Second.'].map((findings) => put(uid, report!.etag, { sections: { findings, impression: 'x' }, decisions: [] })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!.body as ReportResponse;
    expect(reportResponseSchema.parse((await getReport(uid)).body)).toMatchObject({ revision: 2, sections: winner.sections });
  });

  test('an edit naming an unknown finding, or with a malformed body, is refused and changes nothing', async () => {
    await start();
    const { uid, images, report } = await study();
    const unknown = await put(uid, report!.etag, { sections, decisions: [{ code: 'cardiomegaly', sopInstanceUid: images[0]!.sopInstanceUid, decision: 'accepted' }] });
    expect(unknown.status).toBe(400);
    expect(errorCode(unknown)).toBe('unknown-finding');
    expect(apiErrorSchema.parse(unknown.body).error.message).toContain('cardiomegaly');
    const malformed = await put(uid, report!.etag, { sections: { findings: 1 } });
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed)).toBe('invalid-request');
    expect(reportResponseSchema.parse((await getReport(uid)).body)).toMatchObject({ revision: 1, etag: report!.etag });
  });

  test('a study without a draft cannot be edited (409)', async () => {
    await start();
    const { uid } = await study({ analyse: false });
    const pending = reportResponseSchema.parse((await getReport(uid)).body);
    const res = await put(uid, pending.etag, { sections, decisions: [] });
    expect(res.status).toBe(409);
    expect(errorCode(res)).toBe('no-draft');
  });
});

describe('signing and addenda', () => {
  test('signing waits for decisions on positive findings; a signed report is final and takes addenda', async () => {
    await start();
    const { uid, images, report } = await study();
    const sop = images[0]!.sopInstanceUid;

    expect((await post(uid, 'sign', null)).status).toBe(428);
    const undecided = await post(uid, 'sign', report!.etag);
    expect(undecided.status).toBe(422);
    expect(errorCode(undecided)).toBe('undecided-findings');
    expect(apiErrorSchema.parse(undecided.body).error.message).toContain(`pleural-effusion (image ${sop})`);
    const early = await post(uid, 'addenda', report!.etag, { text: 'Too early.' });
    expect(early.status).toBe(409);
    expect(errorCode(early)).toBe('report-not-signed');

    const decided = reportResponseSchema.parse((await put(uid, report!.etag, { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] })).body);
    const signedRes = await post(uid, 'sign', decided.etag, { attestation: 'Images reviewed.' });
    expect(signedRes.status).toBe(200);
    const signed = reportResponseSchema.parse(signedRes.body);
    expect(signed).toMatchObject({ status: 'signed', signed: true, revision: 3, revisionKind: 'signature', aiGenerated: true, edited: true, sections });
    expect(signed.disclaimer).toBe(`${AI_ASSISTED_SIGNED_NOTICE} Dr. Ada Reader.`);
    expect(signed.text.split('\n')[0]).toBe(signed.disclaimer);
    expect(signed.signature).toMatchObject({ signedBy: { sub: 'rad-42', name: 'Dr. Ada Reader', role: 'radiologist' }, revision: 3 });

    const edit = await put(uid, signed.etag, { sections: { findings: 'Changed after signing.', impression: 'x' }, decisions: [] });
    expect(edit.status).toBe(409);
    expect(errorCode(edit)).toBe('report-signed');
    expect((await post(uid, 'sign', signed.etag)).status).toBe(409);

    const addendumRes = await post(uid, 'addenda', signed.etag, { text: 'Compared with the prior study: unchanged.' });
    expect(addendumRes.status).toBe(201);
    const withAddendum = reportResponseSchema.parse(addendumRes.body);
    expect(withAddendum).toMatchObject({ status: 'signed', revision: 4, revisionKind: 'addendum', sections, signature: signed.signature });
    expect(withAddendum.addenda).toEqual([{ revision: 4, text: 'Compared with the prior study: unchanged.', author: signed.signature!.signedBy, createdAt: expect.any(String) }]);
    expect(withAddendum.text).toMatch(/ADDENDUM \([^)]*Dr\. Ada Reader\):\nCompared with the prior study: unchanged\.$/);
    expect(withAddendum.text.startsWith(signed.text)).toBe(true);

    const actions = await auditActions(uid);
    // Signing also compares the signed text with the AI (the second read, REPORT_SECOND_READ_ON_SIGN): audited, no new revision.
    expect(actions.filter((a) => a !== 'view')).toEqual(['ai-draft', 'edit', 'sign', 'final-report', 'addendum']);
    expect(await svc.reports.listRevisions((await svc.reports.lookup(uid))!.studyKey)).toEqual([1, 2, 3, 4]);
  });
});

describe('newer analysis versions', () => {
  test('while unsigned, a newer AI draft becomes the report, the edits stay in the history and a stale editor gets 412', async () => {
    await start();
    const s = await study();
    const edited = reportResponseSchema.parse((await put(s.uid, s.report!.etag, { sections, decisions: [] })).body);
    await analyseAgain(s);
    const v2 = await waitForReport(s.uid, (r) => r.status === 'draft' && r.analysisVersion === 2);
    expect(v2).toMatchObject({ revision: 3, revisionKind: 'ai-draft', edited: false, sections: s.report!.sections });
    expect(v2.etag).not.toBe(edited.etag);
    const stale = await put(s.uid, edited.etag, { sections: { findings: 'Based on the old draft.', impression: 'x' }, decisions: [] });
    expect(stale.status).toBe(412);
    expect(stale.headers.etag).toBe(v2.etag);
    const kinds = revisionListResponseSchema.parse((await request(svc.app).get(`${reportPath(s.uid)}/revisions`).set(auth('viewer'))).body).revisions.map((r) => [r.kind, r.analysisVersion]);
    expect(kinds).toEqual([
      ['ai-draft', 1],
      ['edit', 1],
      ['ai-draft', 2],
    ]);
    const trail = auditTrailResponseSchema.parse((await request(svc.app).get(`${reportPath(s.uid)}/audit`).set(auth('admin'))).body);
    expect(trail.entries.filter((e) => e.action === 'ai-draft').at(-1)?.detail).toMatch(/replacing revision 2 \(edit\), which stays in the history/);
  });

  test('once signed, a newer analysis is recorded and the signed report does not change', async () => {
    await start();
    const s = await study();
    const sop = s.images[0]!.sopInstanceUid;
    const decided = reportResponseSchema.parse((await put(s.uid, s.report!.etag, { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'rejected' }] })).body);
    const signed = reportResponseSchema.parse((await post(s.uid, 'sign', decided.etag)).body);
    await analyseAgain(s);
    const after = reportResponseSchema.parse((await getReport(s.uid)).body);
    expect(after).toMatchObject({ status: 'signed', revision: 3, revisionKind: 'signature', sections, analysisVersion: 1, text: signed.text });
    expect(after.statusReason).toMatch(/newer analysis \(version 2\) arrived after signing/);
    const revisions = revisionListResponseSchema.parse((await request(svc.app).get(`${reportPath(s.uid)}/revisions`).set(auth('viewer'))).body).revisions;
    expect(revisions.at(-1)).toMatchObject({ revision: 4, kind: 'ai-draft', analysisVersion: 2 });
    const recorded = revisionResponseSchema.parse((await request(svc.app).get(`${reportPath(s.uid)}/revisions/4`).set(auth('viewer'))).body);
    expect(recorded.current).toBe(false);
    // The report still takes addenda, with the tag it shows now.
    expect((await post(s.uid, 'addenda', after.etag, { text: 'The newer analysis was reviewed; no change.' })).status).toBe(201);
  });
});

describe('the worklist', () => {
  test('lists urgent findings first, then stat, urgent, routine, oldest first, with filters and pages', async () => {
    await start({ REPORT_URGENT_FINDINGS: 'pleural-effusion,pneumothorax' });
    const a = await study({ priority: 'routine', receivedAt: '2026-01-01T00:00:00.000Z', effusion: false });
    const b = await study({ priority: 'stat', receivedAt: '2026-01-03T00:00:00.000Z', effusion: false });
    const c = await study({ priority: 'routine', receivedAt: '2026-01-04T00:00:00.000Z', effusion: true });
    const d = await study({ priority: 'urgent', receivedAt: '2026-01-02T00:00:00.000Z', effusion: false });
    const e = await study({ priority: 'stat', receivedAt: '2026-01-05T00:00:00.000Z', analyse: false });
    const names = new Map([a, b, c, d, e].map((s, i) => [s.uid, 'abcde'[i]!]));

    const list = async (query: string, role: keyof typeof tokens = 'viewer') => {
      const res = await request(svc.app).get(`/api/studies${query}`).set(auth(role));
      expect(res.status).toBe(200);
      return worklistResponseSchema.parse(res.body);
    };
    const order = (page: { items: Array<{ studyInstanceUid: string }> }) => page.items.map((i) => names.get(i.studyInstanceUid)).join('');

    const all = await list('');
    expect(order(all)).toBe('cbeda');
    expect(all.nextCursor).toBeNull();
    expect(all.items[0]).toMatchObject({ status: 'draft', priority: 'routine', urgentFindings: ['pleural-effusion'], positiveFindings: 1, revision: 1 });
    expect(all.items.find((i) => i.studyInstanceUid === e.uid)).toMatchObject({ status: 'pending', urgentFindings: [], positiveFindings: 0, revision: 0 });

    expect(order(await list('?status=draft'))).toBe('cbda');
    expect(order(await list('?priority=stat'))).toBe('be');
    expect(order(await list('?status=draft,pending&priority=routine,stat'))).toBe('cbea');

    const pages: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`, 'radiologist');
      pages.push(order(page));
      cursor = page.nextCursor;
    }
    expect(pages).toEqual(['cb', 'ed', 'a']);

    // Rejecting the urgent finding puts the study back among the routine ones, oldest first.
    const rejected = await put(c.uid, c.report!.etag, { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: c.images[0]!.sopInstanceUid, decision: 'rejected' }] });
    expect(rejected.status).toBe(200);
    expect(order(await list('?status=draft'))).toBe('bdac');

    for (const bad of ['?status=bogus', '?priority=high', '?limit=0', '?limit=500', '?limit=ten', '?cursor=bm90LWEtY3Vyc29y', '?status=draft&status=signed']) {
      const res = await request(svc.app).get(`/api/studies${bad}`).set(auth('viewer'));
      expect(res.status, bad).toBe(400);
    }
    expect((await request(svc.app).get('/api/studies')).status).toBe(401);
  });
});

describe('live updates', () => {
  test('every index write publishes a report-updated message on the updates channel', async () => {
    await start();
    const subscriber = createWorkerConnection(redis.url);
    const messages: ReportUpdatedEvent[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(reportUpdatedEventSchema.parse(JSON.parse(message))));
    await subscriber.subscribe(reportUpdatesChannel(svc.config.queuePrefix));
    try {
      const { uid, report } = await study();
      expect(messages.some((m) => m.studyInstanceUid === uid && m.status === 'draft' && m.revision === 1)).toBe(true);
      await put(uid, report!.etag, { sections, decisions: [] });
      const deadline = Date.now() + 5_000;
      while (!messages.some((m) => m.studyInstanceUid === uid && m.revision === 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(messages.find((m) => m.revision === 2)).toMatchObject({ studyInstanceUid: uid, status: 'draft', priority: 'routine', urgentFindings: [] });
    } finally {
      await subscriber.quit();
    }
  });
});

describe('rebuilding the index', () => {
  test('after FLUSHDB, reindex gives back the same reports, ETags and worklist', async () => {
    await start();
    const draft = await study({ receivedAt: '2026-01-01T00:00:00.000Z' });
    const edited = await study({ receivedAt: '2026-01-02T00:00:00.000Z' });
    await put(edited.uid, edited.report!.etag, { sections, decisions: [] });
    const signed = await study({ priority: 'stat', receivedAt: '2026-01-03T00:00:00.000Z' });
    const sop = signed.images[0]!.sopInstanceUid;
    const decided = reportResponseSchema.parse((await put(signed.uid, signed.report!.etag, { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] })).body);
    const signedReport = reportResponseSchema.parse((await post(signed.uid, 'sign', decided.etag)).body);
    await post(signed.uid, 'addenda', signedReport.etag, { text: 'Addendum before the flush.' });

    const uids = [draft.uid, edited.uid, signed.uid];
    const snapshot = async () => {
      const reports = await Promise.all(uids.map(async (uid) => reportResponseSchema.parse((await getReport(uid)).body)));
      const worklist = worklistResponseSchema.parse((await request(svc.app).get('/api/studies').set(auth('viewer'))).body);
      return {
        reports: reports.map(({ findings, images, urlsExpireAt: _u, ...rest }) => ({
          ...rest,
          findings: findings.map(({ overlayUrl: _o, heatmapUrl: _h, ...f }) => f),
          images: images.map(({ previewUrl: _p, ...i }) => i),
        })),
        worklist,
      };
    };
    const before = await snapshot();
    expect(before.reports.map((r) => [r.status, r.revision])).toEqual([
      ['draft', 1],
      ['draft', 2],
      ['signed', 4],
    ]);

    await svc.redis.flushdb();
    expect((await getReport(draft.uid)).status).toBe(404);
    expect(worklistResponseSchema.parse((await request(svc.app).get('/api/studies').set(auth('viewer'))).body).items).toEqual([]);

    const result = await reindexReports({ reports: svc.reports, logger: createLogger('reindex-test', 'silent') });
    expect(result).toEqual({ studies: 3, indexed: 3, unidentified: 0, failed: 0, discrepancies: 0 });
    expect(await snapshot()).toEqual(before);
    expect(await auditActions(signed.uid)).toContain('reindex');
  });

  test('reads and edits reports stored before review existed (schema version 1), once reindexed', async () => {
    await start();
    const studyKey = randomKey();
    const image = fixtureImage();
    const received = studyReceivedEvent(studyKey, 1, [image]);
    const result = analysisResult(studyKey, 1, [image]);
    await putAnalysisOutputs(svc.objects, svc.config.buckets.derived, result);
    const draft = composeDraft(result, { composedAt: '2026-01-02T03:05:00.000Z' });
    const oldDraft = { ...draft, findings: draft.findings.map(({ confidence: _c, side: _s, zone: _z, region: _r, ...rest }) => rest) };
    const bucket = svc.config.buckets.reports;
    await svc.objects.putJson(bucket, objectKeys.reportRevision(studyKey, 1), { schemaVersion: 1, studyKey, revision: 1, kind: 'ai-draft', createdAt: '2026-01-02T03:06:00.000Z', draft: oldDraft });
    await svc.objects.putJson(bucket, objectKeys.reportState(studyKey), {
      schemaVersion: 1,
      studyKey,
      identity: { studyInstanceUid: received.studyInstanceUid, priority: 'routine' },
      version: 1,
      received: { eligible: true, ineligibleReasons: [], instanceCount: 1, images: received.images, receivedAt: received.receivedAt },
      analysis: { outcome: 'completed', analysisId: result.analysisId, resultKey: 'r', completedAt: result.completedAt, revision: 1 },
      revisions: [{ revision: 1, kind: 'ai-draft', version: 1, createdAt: '2026-01-02T03:06:00.000Z' }],
      updatedAt: '2026-01-02T03:06:00.000Z',
    });

    expect(await reindexReports({ reports: svc.reports, logger: createLogger('reindex-test', 'silent') })).toMatchObject({ indexed: 1, failed: 0 });
    const report = reportResponseSchema.parse((await getReport(received.studyInstanceUid)).body);
    expect(report).toMatchObject({ status: 'draft', revision: 1, revisionKind: 'ai-draft', edited: false, sections: draft.sections });
    const editedRes = await put(received.studyInstanceUid, report.etag, { sections, decisions: [] });
    expect(editedRes.status).toBe(200);
    expect((editedRes.body as ReportResponse).revision).toBe(2);
    // The old revision object is left as it was written; the state is now version 2.
    expect(await svc.objects.getJson(bucket, objectKeys.reportRevision(studyKey, 1))).toMatchObject({ schemaVersion: 1 });
    expect(await svc.objects.getJson(bucket, objectKeys.reportState(studyKey))).toMatchObject({ schemaVersion: 2, current: 2 });
  });
});
