import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectKeys, type AnalysisResult, type AuditEntry, type ReportResponse } from '@cxr/contracts';
import { parseInstance, SopClass } from '@cxr/dicom';
import { freePort, startS3Server, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { createLogger, errorHandler, HttpError, ObjectStore, parseMultipartRelated, parseMultipartRelatedType } from '@cxr/platform';
import { createTestAuth } from '../auth/index.ts';
import { dcmtk, problemLines } from '../exports/dcmtk-tools.ts';
import { dciodvfy } from '../exports/independent-readers.test-support.ts';
import { draftReportFixture, findingFixture } from '../exports/report-fixtures.test-support.ts';
import type { StoredImage } from '../review/report-service.ts';
import { exportRoutes } from './exports.ts';

// The AI-result routes over a real s3rver: a two-image phantom study in the originals bucket, one
// finding's heatmap inline in an analysis result (as the worker writes them now), the other's
// stored as its own PNG (older analyses); dciodvfy and dsrdump on what the routes return.

const BUCKETS = { originals: 'ai-exports-originals', reports: 'ai-exports-reports', derived: 'ai-exports-derived' };
const STUDY_KEY = 'd'.repeat(32);
const [INSTANCE_A, INSTANCE_B] = ['1'.repeat(32), '2'.repeat(32)];
const dir = mkdtempSync(join(tmpdir(), 'report-ai-exports-'));
let s3: S3ServerHandle;
let objects: ObjectStore;
const { auth, token } = await createTestAuth();
const audit: AuditEntry[] = [];
let views: Map<string, ReportResponse>;
let frontal: ChestStudy;
let lateral: ChestStudy;
let server: express.Express;

async function greyPng(width: number, height: number, seed: number): Promise<Buffer> {
  const grey = Buffer.alloc(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = (i * seed) % 256;
  return sharp(grey, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** The report service's `findingImage` for heatmaps: finding A inline in the result, B stored apart. */
function heatmapLocation(code: string, sopInstanceUid: string): StoredImage {
  if (sopInstanceUid === frontal.sopInstanceUid) {
    return { bucket: BUCKETS.derived, key: objectKeys.analysisResult(STUDY_KEY, 1), inResult: { instanceKey: INSTANCE_A, code } };
  }
  return { bucket: BUCKETS.derived, key: objectKeys.heatmap(STUDY_KEY, 1, INSTANCE_B, code) };
}

beforeAll(async () => {
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(BUCKETS) });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  frontal = makeChestStudy({ seed: 5151, size: 256 });
  lateral = makeChestStudy({ seed: 5152, size: 200, studyInstanceUid: frontal.studyInstanceUid });
  for (const s of [frontal, lateral]) {
    const sha256 = createHash('sha256').update(s.file).digest('hex');
    await objects.put(BUCKETS.originals, objectKeys.original(s.studyInstanceUid, s.seriesInstanceUid, s.sopInstanceUid, sha256), s.file, 'application/dicom');
  }
  const inline = await greyPng(8, 10, 7);
  const result: AnalysisResult = {
    schemaVersion: 1,
    analysisId: `${STUDY_KEY}.v1`,
    studyKey: STUDY_KEY,
    version: 1,
    model: { id: 'cxr-reference', version: '0.1.0', sha256: 'ab'.repeat(32), executionProvider: 'cpu' },
    images: [
      {
        instanceKey: INSTANCE_A,
        imageKey: objectKeys.presentationImage(STUDY_KEY, INSTANCE_A),
        width: 8,
        height: 10,
        findings: [{ code: 'pleural_effusion', display: 'Pleural effusion', coding: null, probability: 0.91, threshold: 0.5, positive: true, peak: { x: 0.5, y: 0.5 }, heatmapPng: inline.toString('base64') }],
        text: { findings: '', impression: '' },
      },
    ],
    timingsMs: {},
    completedAt: '2026-01-05T10:00:00.000Z',
  };
  await objects.put(BUCKETS.derived, objectKeys.analysisResult(STUDY_KEY, 1), Buffer.from(JSON.stringify(result)), 'application/json');
  await objects.put(BUCKETS.derived, objectKeys.heatmap(STUDY_KEY, 1, INSTANCE_B, 'pneumothorax'), await greyPng(8, 9, 3), 'image/png');

  const base = draftReportFixture();
  const twoImages: ReportResponse = {
    ...base,
    studyInstanceUid: frontal.studyInstanceUid,
    findings: [
      findingFixture({ sopInstanceUid: frontal.sopInstanceUid }),
      findingFixture({ code: 'pneumothorax', display: 'Pneumothorax', coding: { system: 'http://snomed.info/sct', code: '36118008', display: 'Pneumothorax' }, sopInstanceUid: lateral.sopInstanceUid, region: null, positive: false, probability: 0.1 }),
    ],
  };
  views = new Map([[frontal.studyInstanceUid, twoImages]]);

  const application = express();
  application.use(
    exportRoutes({
      auth,
      objects,
      config: { buckets: BUCKETS },
      async loadReportView(uid) {
        const response = views.get(uid);
        if (!response) throw new HttpError(404, 'study-not-found', 'no report is known for this study');
        return { response, studyKey: STUDY_KEY };
      },
      async recordAudit(_studyKey, entry) {
        audit.push(entry);
      },
      async findingImage(_uid, code, sopInstanceUid, kind) {
        if (kind !== 'heatmap' || !sopInstanceUid) throw new HttpError(404, 'finding-not-found', 'no such finding');
        return heatmapLocation(code, sopInstanceUid);
      },
    }),
  );
  application.use(errorHandler(createLogger('test', 'silent')));
  server = application;
});

afterAll(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, role: 'viewer' | 'integration' | null = 'integration'): Promise<request.Response> {
  const req = request(server).get(path);
  if (role) req.set('Authorization', `Bearer ${await token(role)}`);
  return req.buffer(true).parse((response, done) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => done(null, Buffer.concat(chunks)));
  });
}

let fileCounter = 0;
async function expectNoIodErrors(bytes: Buffer, iod: string): Promise<string> {
  fileCounter += 1;
  const file = join(dir, `route-${fileCounter}.dcm`);
  writeFileSync(file, bytes);
  const check = await dciodvfy(file);
  expect(check.iod).toBe(iod);
  expect(check.errors).toEqual([]);
  return file;
}

describe('GET /api/studies/:uid/report/ai-results/*', () => {
  test('returns the TID 1500 measurement report of both images as a Part 10 file, and records the export', async () => {
    const res = await get(`/api/studies/${frontal.studyInstanceUid}/report/ai-results/sr`, 'viewer');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    const bytes = res.body as Buffer;
    expect(parseInstance(bytes).sopClassUid).toBe(SopClass.Comprehensive3DSR);
    const file = await expectNoIodErrors(bytes, 'Comprehensive3DSR');
    const sr = await dcmtk('dsrdump', ['+Pc', '+Pu', file]);
    expect(problemLines(sr)).toEqual([]);
    expect(sr.stdout).toContain(`<contains IMAGE:=(DX image,"${frontal.sopInstanceUid}")>`);
    expect(sr.stdout).toContain(`<contains IMAGE:=(DX image,"${lateral.sopInstanceUid}")>`);
    expect(sr.stdout).toContain('=(36118008,SCT,"Pneumothorax")>');
    expect(audit.at(-1)).toMatchObject({ action: 'export', actor: { role: 'viewer' }, detail: 'DICOM TID 1500 measurement report of the AI findings' });
  });

  test.each([
    ['pmap', 'ParametricMap', SopClass.ParametricMapStorage],
    ['seg', 'Segmentation', SopClass.SegmentationStorage],
  ])('returns a %s per image as multipart/related when two images have findings, each on its own image grid', async (kind, iod, sopClassUid) => {
    const res = await get(`/api/studies/${frontal.studyInstanceUid}/report/ai-results/${kind}`);
    expect(res.status).toBe(200);
    const type = parseMultipartRelatedType(res.headers['content-type']);
    expect(type.type).toBe('application/dicom');
    const parts = parseMultipartRelated(res.body as Buffer, type.boundary, 10);
    expect(parts).toHaveLength(2);
    const byImage = new Map<string, number>();
    for (const part of parts) {
      expect(parseInstance(part.body).sopClassUid).toBe(sopClassUid);
      const file = await expectNoIodErrors(part.body, iod);
      const dump = await dcmtk('dcmdump', ['+L', file]);
      const source = dump.stdout.includes(`(0008,1155) UI [${frontal.sopInstanceUid}]`) ? frontal : lateral;
      expect(dump.stdout).toContain(`(0008,1155) UI [${source.sopInstanceUid}]`);
      expect(dump.stdout).toContain(`(0028,0010) US ${source.phantom.height}`);
      expect(dump.stdout).toContain(`(0028,0011) US ${source.phantom.width}`);
      byImage.set(source.sopInstanceUid, (byImage.get(source.sopInstanceUid) ?? 0) + 1);
    }
    expect([...byImage.values()]).toEqual([1, 1]);
    expect(audit.at(-1)?.detail).toMatch(/of the AI heatmaps \(2 images\)$/);
  });

  test('returns a binary SEG (?type=binary) only for the image with a finding called present, its segment the area at the threshold', async () => {
    const res = await get(`/api/studies/${frontal.studyInstanceUid}/report/ai-results/seg?type=binary`);
    expect(res.status).toBe(200);
    // The lateral image's only finding is called absent: one image, so one Part 10 file.
    expect(res.headers['content-type']).toBe('application/dicom');
    expect(res.headers['content-disposition']).toBe('attachment; filename="ai-seg-binary-v1.dcm"');
    const file = await expectNoIodErrors(res.body as Buffer, 'Segmentation');
    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.stdout).toContain('(0062,0001) CS [BINARY]');
    expect(dump.stdout).toContain(`(0008,1155) UI [${frontal.sopInstanceUid}]`);
    expect(dump.stdout).not.toContain(`(0008,1155) UI [${lateral.sopInstanceUid}]`);
    expect(dump.stdout).toContain('(0062,0005) LO [Pleural effusion]');
    expect(audit.at(-1)?.detail).toBe('DICOM binary Segmentation of the AI heatmaps (1 image)');
  });

  test('answers 409 for a binary SEG when the model called no finding present, and 400 for an unknown type', async () => {
    const uid = frontal.studyInstanceUid;
    const both = views.get(uid)!;
    views.set(uid, { ...both, findings: [{ ...both.findings[0]!, positive: false, probability: 0.2 }, both.findings[1]!] });
    try {
      const res = await get(`/api/studies/${uid}/report/ai-results/seg?type=binary`);
      expect(res.status).toBe(409);
      expect(JSON.parse((res.body as Buffer).toString('utf8'))).toMatchObject({ error: { code: 'no-ai-results' } });
    } finally {
      views.set(uid, both);
    }
    const bad = await get(`/api/studies/${uid}/report/ai-results/seg?type=labelmap`);
    expect(bad.status).toBe(400);
    expect(JSON.parse((bad.body as Buffer).toString('utf8'))).toMatchObject({ error: { code: 'invalid-seg-type' } });
  });

  test('returns a single Part 10 file when one image has findings', async () => {
    const uid = frontal.studyInstanceUid;
    const both = views.get(uid)!;
    views.set(uid, { ...both, findings: both.findings.slice(0, 1) });
    try {
      const res = await get(`/api/studies/${uid}/report/ai-results/seg`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/dicom');
      expect(res.headers['content-disposition']).toBe('attachment; filename="ai-seg-v1.dcm"');
      await expectNoIodErrors(res.body as Buffer, 'Segmentation');
    } finally {
      views.set(uid, both);
    }
  });

  test('answers 404 when a heatmap is gone, and records no export', async () => {
    const uid = frontal.studyInstanceUid;
    const both = views.get(uid)!;
    views.set(uid, { ...both, findings: [{ ...both.findings[1]!, code: 'cardiomegaly' }] });
    const before = audit.length;
    try {
      const res = await get(`/api/studies/${uid}/report/ai-results/pmap`);
      expect(res.status).toBe(404);
      expect(JSON.parse((res.body as Buffer).toString('utf8'))).toMatchObject({ error: { code: 'heatmap-not-found' } });
      expect(audit.length).toBe(before);
    } finally {
      views.set(uid, both);
    }
  });

  test('answers 409 while the report has no draft, and 401 without a token', async () => {
    const uid = frontal.studyInstanceUid;
    const both = views.get(uid)!;
    views.set(uid, { ...both, status: 'pending', findings: [], model: null });
    try {
      expect((await get(`/api/studies/${uid}/report/ai-results/sr`)).status).toBe(409);
    } finally {
      views.set(uid, both);
    }
    expect((await get(`/api/studies/${uid}/report/ai-results/seg`, null)).status).toBe(401);
  });
});
