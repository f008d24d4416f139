import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reportResponseSchema, type ReportResponse } from '@cxr/contracts';
import { checkReportText, wordingFor } from '@cxr/drafting';
import { REPO_ROOT, dcmsend, freePort, serviceNodeFlags, startStack, stowRs, waitFor, type ServiceName, type Stack } from '@cxr/devstack';
import { mintDevToken } from '@cxr/platform';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { NEEDS_SHARED, corpus, sharedSamplesDir } from '@cxr/test-corpus';
import { referencedMetricNames } from '../k8s/metric-names.test-support.ts';

/**
 * The whole path with the real parts: redis-server, s3rver, the three services as processes,
 * DCMTK's dcmsend and an HTTP STOW-RS client as the PACS.
 */
const SHARED = sharedSamplesDir();
let stack: Stack;
let dir: string;
/** The report service runs with the development issuer (its default): a viewer's token reads reports. */
let authorization: { Authorization: string };

async function getReport(studyUid: string): Promise<{ status: number; body: ReportResponse | undefined }> {
  const res = await fetch(`${stack.reportUrl}/api/studies/${studyUid}/report`, { headers: authorization });
  return { status: res.status, body: res.status === 200 ? reportResponseSchema.parse(await res.json()) : undefined };
}

async function waitForStatus(studyUid: string, statuses: ReportResponse['status'][], timeoutMs = 90_000): Promise<ReportResponse> {
  return waitFor(`study report to reach ${statuses.join('/')}`, async () => {
    const { body } = await getReport(studyUid);
    return body && statuses.includes(body.status) ? body : undefined;
  }, timeoutMs, 250);
}

async function expectOverlayPng(report: ReportResponse, study: ChestStudy, code: string): Promise<void> {
  const finding = report.findings.find((f) => f.code === code);
  expect(finding, `finding ${code} in report`).toBeDefined();
  // A signed, short-lived URL: it opens without a token, as an <img src> would.
  expect(finding!.overlayUrl).toContain('signature=');
  const res = await fetch(finding!.overlayUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^image\/png/);
  const png = Buffer.from(await res.arrayBuffer());
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  const imageAspect = study.phantom.height / study.phantom.width;
  expect(Math.abs(meta.height! / meta.width! - imageAspect)).toBeLessThan(0.02);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-e2e-'));
  authorization = { Authorization: `Bearer ${await mintDevToken({ role: 'viewer' })}` };
  // A PACS to send reports back to (nothing listens; nothing is signed here), so the report service
  // exports its PACS export metrics, which the alert rules and dashboard use.
  const pacs = `http://127.0.0.1:${await freePort()}/dicom-web`;
  stack = await startStack({ dataDir: dir, resetS3: true, redisAppendOnly: false, env: { INGEST_STUDY_STABLE_MS: '1000', LOG_LEVEL: 'info', REPORT_PACS_STOW_URL: pacs } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a study pushed by a PACS becomes a draft report', () => {
  test('a radiograph sent with dcmsend gets a draft whose findings match the phantom', async () => {
    const study = makeChestStudy({ seed: 101, findings: [{ code: 'nodule', side: 'right', zone: 'upper', tier: 'obvious', sizeMm: 22 }] });
    const file = join(dir, 'dimse.dcm');
    writeFileSync(file, study.file);
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });

    const report = await waitForStatus(study.studyInstanceUid, ['draft', 'failed', 'not-eligible']);
    expect(report.status).toBe('draft');
    expect(report.aiGenerated).toBe(true);
    expect(report.signed).toBe(false);
    expect(report.edited).toBe(false);
    expect(report.revisionKind).toBe('ai-draft');
    expect(report.model?.id).toBe('reference-cxr');
    const positives = report.findings.filter((f) => f.positive).map((f) => f.code);
    expect(positives).toEqual(['nodule']);
    const nodule = report.findings.find((f) => f.code === 'nodule')!;
    expect(nodule.probability).toBeGreaterThan(nodule.threshold);
    // Patient's right is on the image left of a PA view.
    expect(nodule.peak.x).toBeLessThan(0.5);
    expect(report.text).toMatch(/nodule/i);
    expect(report.text).toMatch(/right/i);
    expect(report.text).toMatch(/AI-generated/);
    // The text went through the consistency checks: what they changed is listed, and nothing is left to count.
    expect(Array.isArray(report.textEdits)).toBe(true);
    const checked = checkReportText(
      report.sections,
      report.images.map((i) => ({ instanceKey: i.sopInstanceUid, width: i.width, height: i.height, text: { findings: '', impression: '' } })),
      report.findings.map((f) => ({ ...f, instanceKey: f.sopInstanceUid })),
      wordingFor(report.model!.id),
      { answers: true },
    );
    expect({ ...checked, unmeasuredSizes: 0 }).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
    // A size in mm only as measured: the phantom's header carries Pixel Spacing, so a nodule size, if stated, is near the truth (22 mm).
    for (const m of report.sections.findings.matchAll(/(\d+) mm nodule/g)) expect(Math.abs(Number(m[1]) - 22)).toBeLessThanOrEqual(15);
    await expectOverlayPng(report, study, 'nodule');
  });

  test('a MONOCHROME1 CR sent by STOW-RS with a clinical question gets a draft that matches the phantom and answers it', async () => {
    const study = makeChestStudy({
      seed: 202, modality: 'CR', photometric: 'MONOCHROME1', findings: [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }],
      order: { reason: '? pneumothorax, r/o effusion', history: 'SOB since 02/12/2026' },
    });
    const { status, body } = await stowRs(stack.ingestUrl, [study.file]);
    expect(status).toBe(200);
    expect(JSON.stringify(body)).toContain(study.sopInstanceUid);

    const report = await waitForStatus(study.studyInstanceUid, ['draft', 'failed', 'not-eligible']);
    expect(report.status).toBe('draft');
    expect(report.findings.filter((f) => f.positive).map((f) => f.code)).toEqual(['pleural_effusion']);
    expect(report.text).toMatch(/effusion/i);
    // The order's question, scrubbed in ingest, is the INDICATION; the impression answers it first.
    expect(report.sections.indication).toBe('? pneumothorax, r/o effusion; SOB since [removed]');
    const [answer] = report.sections.impression.split('\n');
    expect(answer).toMatch(/^No pneumothorax\. .*effusion/i);
    const checked = checkReportText(
      report.sections,
      report.images.map((i) => ({ instanceKey: i.sopInstanceUid, width: i.width, height: i.height, text: { findings: '', impression: '' } })),
      report.findings.map((f) => ({ ...f, instanceKey: f.sopInstanceUid })),
      wordingFor(report.model!.id),
      { answers: true },
    );
    expect({ contradicting: checked.contradicting, malformed: checked.malformed }).toEqual({ contradicting: 0, malformed: 0 });
    await expectOverlayPng(report, study, 'pleural_effusion');
  });

  async function structuredReportEndsNotEligible(file: string): Promise<void> {
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    // The file's Study Instance UID, as written in it.
    const { parseInstance } = await import('@cxr/dicom');
    const studyUid = parseInstance(readFileSync(file)).studyInstanceUid;
    const report = await waitForStatus(studyUid, ['not-eligible', 'failed', 'draft']);
    expect(report.status).toBe('not-eligible');
    expect(report.statusReason).toMatch(/pixel data/i);
    expect(report.findings).toEqual([]);
  }

  test('a structured report (no pixels) is stored and its study ends not-eligible with a reason', async () => {
    await structuredReportEndsNotEligible(corpus().path('sr-basic-text.dcm'));
  });

  test.skipIf(!SHARED)(`the shared structured report is stored and its study ends not-eligible with a reason ${NEEDS_SHARED}`, async () => {
    await structuredReportEndsNotEligible(join(SHARED!, 'reportsi.dcm'));
  });

  test('an unknown study is a 404 with a JSON error', async () => {
    expect((await fetch(`${stack.reportUrl}/api/studies/1.2.3.999999/report`)).status).toBe(401);
    const res = await fetch(`${stack.reportUrl}/api/studies/1.2.3.999999/report`, { headers: authorization });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: expect.any(String) } });
  });

  test('every metric the alert rules and dashboard use is exported by a running service', async () => {
    const exported = new Set<string>();
    for (const url of [stack.ingestUrl, stack.reportUrl, ...stack.workerUrls]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) /gm)) exported.add(m[1]!);
    }
    const referenced = referencedMetricNames(REPO_ROOT);
    expect(referenced.length).toBeGreaterThan(5);
    expect(referenced).toContain('cxr_report_e2e_latency_seconds');
    expect(referenced.filter((name) => !exported.has(name))).toEqual([]);
  });

  test('each service process runs with the node flags its package.json names (ingest: a larger initial heap)', () => {
    expect(serviceNodeFlags('ingest').length).toBeGreaterThan(0);
    for (const service of stack.services) {
      const name = service.name.replace(/-\d+$/, '') as ServiceName;
      const argv = readFileSync(`/proc/${service.process.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of serviceNodeFlags(name)) expect(argv, `${service.name} runs with ${flag}`).toContain(flag);
    }
  });

  test('no patient identifiers appear in any service log', () => {
    const logs = readdirSync(stack.logDir).map((f) => readFileSync(join(stack.logDir, f), 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const seed of [101, 202]) {
      expect(logs).not.toContain(`PHANTOM^SYNTHETIC${seed}`);
      expect(logs).not.toContain(`SYN${String(seed).padStart(6, '0')}`);
    }
  });
});
