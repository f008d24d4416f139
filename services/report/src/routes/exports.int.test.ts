import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DiagnosticReport, Patient } from 'fhir/r4.js';
import { objectKeys, type AuditEntry, type ReportResponse } from '@cxr/contracts';
import { parseInstance, SopClass } from '@cxr/dicom';
import { freePort, startS3Server, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { createLogger, errorHandler, HttpError, ObjectStore, TransientError } from '@cxr/platform';
import { createTestAuth } from '../auth/index.ts';
import { dcmtk, problemLines, renderRgb } from '../exports/dcmtk-tools.ts';
import { readHeaderAttributes } from '../exports/part10.ts';
import { draftReportFixture, signedReportFixture } from '../exports/report-fixtures.test-support.ts';
import { exportRoutes } from './exports.ts';

// Real s3rver (originals and reports buckets), a real original DICOM written by the phantom
// package, DCMTK on the outputs. The report view, the audit sink and the overlay lookup are the
// route's inputs (the review service provides them in the app): plain functions over test data.

const BUCKETS = { originals: 'exports-originals', reports: 'exports-reports' };
const dir = mkdtempSync(join(tmpdir(), 'report-exports-'));
let s3: S3ServerHandle;
let objects: ObjectStore;
const { auth, token } = await createTestAuth();
const logLines: string[] = [];
const audit: Array<{ studyKey: string; entry: AuditEntry }> = [];
const views = new Map<string, { response: ReportResponse; studyKey: string; failAudit?: boolean }>();
let study: ChestStudy;
let overlayPng: Buffer;

function overlayKeyOf(studyKey: string, code: string): string {
  return objectKeys.overlay(studyKey, 1, 'a'.repeat(32), code);
}

function app(): express.Express {
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const application = express();
  application.use(
    exportRoutes({
      auth,
      objects,
      config: { buckets: BUCKETS },
      async loadReportView(uid) {
        const view = views.get(uid);
        if (!view) throw new HttpError(404, 'study-not-found', 'no report is known for this study');
        return { response: view.response, studyKey: view.studyKey };
      },
      async recordAudit(studyKey, entry) {
        if ([...views.values()].some((v) => v.studyKey === studyKey && v.failAudit)) throw new TransientError(`audit store unavailable for ${studyKey}`);
        audit.push({ studyKey, entry });
      },
      async findingImage(uid, code, sopInstanceUid) {
        const view = views.get(uid);
        if (!view?.response.findings.some((f) => f.code === code && f.sopInstanceUid === sopInstanceUid)) throw new HttpError(404, 'finding-not-found', 'no such finding');
        return { bucket: BUCKETS.reports, key: overlayKeyOf(view.studyKey, code) };
      },
      organization: 'Synthetic Hospital',
    }),
  );
  application.use(errorHandler(createLogger('test', 'info', logStream)));
  return application;
}

let server: express.Express;

/** A report for the phantom study, as the review API would show it. */
function reportFor(base: ReportResponse): ReportResponse {
  return {
    ...base,
    studyInstanceUid: study.studyInstanceUid,
    images: base.images.map((image) => ({ ...image, sopInstanceUid: study.sopInstanceUid })),
    findings: base.findings.map((finding) => ({ ...finding, sopInstanceUid: study.sopInstanceUid })),
  };
}

beforeAll(async () => {
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(BUCKETS) });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  study = makeChestStudy({ seed: 4242, size: 256 });
  const sha256 = createHash('sha256').update(study.file).digest('hex');
  await objects.put(BUCKETS.originals, objectKeys.original(study.studyInstanceUid, study.seriesInstanceUid, study.sopInstanceUid, sha256), study.file, 'application/dicom');

  const width = 128;
  const height = Math.round((128 * study.phantom.height) / study.phantom.width);
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([i % 251, (i * 3) % 256, 255 - (i % 256)], i * 3);
  overlayPng = await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();

  views.set(study.studyInstanceUid, { response: reportFor(draftReportFixture()), studyKey: 'b'.repeat(32) });
  await objects.put(BUCKETS.reports, overlayKeyOf('b'.repeat(32), 'pleural_effusion'), overlayPng, 'image/png');
  server = app();
});

afterAll(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** GET a DICOM body as bytes. */
async function getDicom(path: string, role: 'viewer' | 'radiologist' | 'integration'): Promise<request.Response> {
  return request(server)
    .get(path)
    .set('Authorization', `Bearer ${await token(role)}`)
    .buffer(true)
    .parse((response, done) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done(null, Buffer.concat(chunks)));
    });
}

function auditOf(studyKey: string): AuditEntry[] {
  return audit.filter((a) => a.studyKey === studyKey).map((a) => a.entry);
}

describe('GET /api/studies/:uid/report/fhir', () => {
  test('returns the DiagnosticReport for the patient of the original DICOM and records the export', async () => {
    const res = await request(server)
      .get(`/api/studies/${study.studyInstanceUid}/report/fhir`)
      .set('Authorization', `Bearer ${await token('integration', 'ris-1', 'Hospital RIS')}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const body = JSON.parse(res.text) as DiagnosticReport;
    expect(body.resourceType).toBe('DiagnosticReport');
    expect(body.status).toBe('preliminary');
    const patient = body.contained?.find((r) => r.resourceType === 'Patient') as Patient;
    expect(patient.identifier?.[0]?.value).toBe(study.patient.id);
    expect(patient.name?.[0]?.family).toBe(study.patient.name.split('^')[0]);
    expect(body.basedOn?.[0]?.identifier?.value).toBe(study.accessionNumber);
    expect(body.imagingStudy?.[0]?.identifier?.value).toBe(`urn:oid:${study.studyInstanceUid}`);
    expect(auditOf('b'.repeat(32)).at(-1)).toMatchObject({
      action: 'export',
      actor: { sub: 'ris-1', name: 'Hospital RIS', role: 'integration' },
      revision: 1,
      detail: 'FHIR DiagnosticReport (preliminary)',
    });
  });

  test('refuses a request without a token', async () => {
    const res = await request(server).get(`/api/studies/${study.studyInstanceUid}/report/fhir`);
    expect(res.status).toBe(401);
  });
});

describe('GET /api/studies/:uid/report/sr', () => {
  test('returns an SR in the study that dsrdump reads without a warning, and records the export', async () => {
    const before = auditOf('b'.repeat(32)).length;
    const res = await getDicom(`/api/studies/${study.studyInstanceUid}/report/sr`, 'viewer');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    expect(res.headers['content-disposition']).toBe('attachment; filename="report-r1.dcm"');
    const bytes = res.body as Buffer;
    const parsed = parseInstance(bytes);
    expect(parsed.sopClassUid).toBe(SopClass.ComprehensiveSR);
    expect(parsed.studyInstanceUid).toBe(study.studyInstanceUid);
    expect(parsed.patientId).toBe(study.patient.id);
    expect(parsed.patientName).toBe(study.patient.name);
    expect(parsed.accessionNumber).toBe(study.accessionNumber);
    const file = join(dir, 'route-sr.dcm');
    writeFileSync(file, bytes);
    const sr = await dcmtk('dsrdump', ['+Pc', '+Pu', file]);
    expect(sr.code).toBe(0);
    expect(problemLines(sr)).toEqual([]);
    // The region is drawn in the original's pixel grid and selected from the original image.
    expect(sr.stdout).toContain(`<selected from IMAGE:=(DX image,"${study.sopInstanceUid}")>`);
    const evidence = readHeaderAttributes(bytes).CurrentRequestedProcedureEvidenceSequence as Array<{ ReferencedSeriesSequence: Array<{ SeriesInstanceUID: string; ReferencedSOPSequence: Array<{ ReferencedSOPInstanceUID: string }> }> }>;
    expect(evidence[0]!.ReferencedSeriesSequence[0]!.SeriesInstanceUID).toBe(study.seriesInstanceUid);
    expect(evidence[0]!.ReferencedSeriesSequence[0]!.ReferencedSOPSequence[0]!.ReferencedSOPInstanceUID).toBe(study.sopInstanceUid);
    expect(auditOf('b'.repeat(32)).length).toBe(before + 1);
    expect(auditOf('b'.repeat(32)).at(-1)).toMatchObject({ action: 'export', actor: { role: 'viewer' }, detail: 'DICOM SR (unverified draft)' });
  });

  test('marks a signed report verified', async () => {
    const signedStudy = { response: reportFor(signedReportFixture()), studyKey: 'c'.repeat(32) };
    const uid = study.studyInstanceUid;
    const draft = views.get(uid)!;
    views.set(uid, signedStudy);
    try {
      const res = await getDicom(`/api/studies/${uid}/report/sr`, 'radiologist');
      expect(res.status).toBe(200);
      const attributes = readHeaderAttributes(res.body as Buffer);
      expect(attributes.VerificationFlag).toBe('VERIFIED');
      expect(attributes.CompletionFlag).toBe('COMPLETE');
      expect(auditOf('c'.repeat(32)).at(-1)).toMatchObject({ detail: 'DICOM SR (verified)', revision: 3 });
    } finally {
      views.set(uid, draft);
    }
  });
});

describe('GET /api/studies/:uid/report/overlays/:sopInstanceUid/:code.dcm', () => {
  test('returns the overlay as a Secondary Capture of the same pixels, referencing the source image', async () => {
    const res = await getDicom(`/api/studies/${study.studyInstanceUid}/report/overlays/${study.sopInstanceUid}/pleural_effusion.dcm`, 'radiologist');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    expect(res.headers['content-disposition']).toBe('attachment; filename="overlay-pleural_effusion.dcm"');
    const bytes = res.body as Buffer;
    const attributes = readHeaderAttributes(bytes);
    expect(attributes.SOPClassUID).toBe(SopClass.SecondaryCaptureImageStorage);
    expect(attributes.StudyInstanceUID).toBe(study.studyInstanceUid);
    expect(attributes.PatientID).toBe(study.patient.id);
    expect((attributes.SourceImageSequence as Array<{ ReferencedSOPInstanceUID: string }>)[0]!.ReferencedSOPInstanceUID).toBe(study.sopInstanceUid);
    const file = join(dir, 'route-sc.dcm');
    writeFileSync(file, bytes);
    const rendered = await renderRgb(file, join(dir, 'route-sc.ppm'));
    expect(problemLines(rendered.output)).toEqual([]);
    expect(rendered.rgb.equals(await sharp(overlayPng).raw().toBuffer())).toBe(true);
    expect(auditOf('b'.repeat(32)).at(-1)).toMatchObject({ action: 'export', detail: 'DICOM Secondary Capture overlay of pleural_effusion' });
  });

  test('says which finding or image is unknown', async () => {
    const headers = { Authorization: `Bearer ${await token('viewer')}` };
    const base = `/api/studies/${study.studyInstanceUid}/report/overlays`;
    expect((await request(server).get(`${base}/${study.sopInstanceUid}/pneumothorax.dcm`).set(headers)).body.error.code).toBe('finding-not-found');
    expect((await request(server).get(`${base}/1.2.3.4/pleural_effusion.dcm`).set(headers)).status).toBe(404);
    expect((await request(server).get(`${base}/1.02.3/pleural_effusion.dcm`).set(headers)).status).toBe(400);
    // The negative finding has no stored overlay.
    expect((await request(server).get(`${base}/${study.sopInstanceUid}/mass.dcm`).set(headers)).body.error.code).toBe('overlay-not-found');
  });
});

describe('refusals', () => {
  test.each([
    ['an unknown study', '1.2.826.0.1.3680043.8.498.999', 404, 'study-not-found'],
    ['a malformed study UID', '1.2.03', 400, 'invalid-study-instance-uid'],
  ])('answers %s with %i', async (_name, uid, status, code) => {
    for (const path of ['fhir', 'sr']) {
      const res = await request(server).get(`/api/studies/${uid}/report/${path}`).set('Authorization', `Bearer ${await token('viewer')}`);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
  });

  test('answers 409 while there is no draft, and 404 when the originals are gone', async () => {
    views.set('1.2.826.0.1.3680043.8.498.77', { response: draftReportFixture({ studyInstanceUid: '1.2.826.0.1.3680043.8.498.77', status: 'pending', findings: [], model: null }), studyKey: 'd'.repeat(32) });
    views.set('1.2.826.0.1.3680043.8.498.78', { response: draftReportFixture({ studyInstanceUid: '1.2.826.0.1.3680043.8.498.78' }), studyKey: 'e'.repeat(32) });
    const headers = { Authorization: `Bearer ${await token('admin')}` };
    const pending = await request(server).get('/api/studies/1.2.826.0.1.3680043.8.498.77/report/fhir').set(headers);
    expect([pending.status, pending.body.error.code]).toEqual([409, 'nothing-to-export']);
    const gone = await request(server).get('/api/studies/1.2.826.0.1.3680043.8.498.78/report/sr').set(headers);
    expect([gone.status, gone.body.error.code]).toEqual([404, 'originals-not-found']);
    expect(auditOf('d'.repeat(32))).toEqual([]);
    expect(auditOf('e'.repeat(32))).toEqual([]);
  });

  test('sends nothing when the export cannot be audited, and logs no identifier', async () => {
    const view = views.get(study.studyInstanceUid)!;
    views.set(study.studyInstanceUid, { ...view, failAudit: true });
    try {
      logLines.length = 0;
      const res = await request(server).get(`/api/studies/${study.studyInstanceUid}/report/fhir`).set('Authorization', `Bearer ${await token('viewer')}`);
      expect(res.status).toBe(503);
      expect(res.text).not.toContain(study.patient.id);
      expect(logLines.join('')).toContain('request failed');
      for (const secret of [study.patient.id, study.patient.name, study.accessionNumber, study.studyInstanceUid]) expect(logLines.join('')).not.toContain(secret);
    } finally {
      views.set(study.studyInstanceUid, view);
    }
  });
});
