import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectKeys } from '@cxr/contracts';
import { SopClass } from '@cxr/dicom';
import { freePort, startS3Server, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore } from '@cxr/platform';
import { patientAndStudyModules, readSourceStudy, SourceStudyNotFoundError } from './source-study.ts';

// Real s3rver and DICOM files written by the phantom package.

const BUCKET = 'source-study-originals';
const dir = mkdtempSync(join(tmpdir(), 'report-source-'));
let s3: S3ServerHandle;
let objects: ObjectStore;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

beforeAll(async () => {
  s3 = await startS3Server({ port: await freePort(), dir, buckets: [BUCKET] });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
});

afterAll(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('readSourceStudy', () => {
  test('reads the patient, the study and each instance once, skipping objects that are not DICOM', async () => {
    const frontal = makeChestStudy({ seed: 11, size: 96 });
    const lateral = makeChestStudy({ seed: 12, size: 96, studyInstanceUid: frontal.studyInstanceUid, modality: 'CR' });
    const uid = frontal.studyInstanceUid;
    await objects.put(BUCKET, objectKeys.original(uid, frontal.seriesInstanceUid, frontal.sopInstanceUid, sha256(frontal.file)), frontal.file, 'application/dicom');
    // The same SOP Instance UID stored twice (a conflicting re-send): listed once.
    await objects.put(BUCKET, objectKeys.original(uid, frontal.seriesInstanceUid, frontal.sopInstanceUid, 'f'.repeat(64)), frontal.file, 'application/dicom');
    await objects.put(BUCKET, objectKeys.original(uid, lateral.seriesInstanceUid, lateral.sopInstanceUid, sha256(lateral.file)), lateral.file, 'application/dicom');
    await objects.put(BUCKET, objectKeys.original(uid, '1.2.3', '1.2.3.4', 'e'.repeat(64)), Buffer.from('not dicom'), 'application/dicom');

    const source = await readSourceStudy(objects, BUCKET, uid);
    expect(source.studyInstanceUid).toBe(uid);
    expect([frontal.patient.id, lateral.patient.id]).toContain(source.patient.id);
    expect(source.patient.sex).toBe('O');
    expect(source.study.description).toBe('CHEST PA (synthetic phantom)');
    expect(source.instances).toHaveLength(2);
    const byUid = new Map(source.instances.map((i) => [i.sopInstanceUid, i]));
    expect(byUid.get(frontal.sopInstanceUid)).toEqual({
      sopClassUid: SopClass.DigitalXRayImageStorageForPresentation,
      sopInstanceUid: frontal.sopInstanceUid,
      seriesInstanceUid: frontal.seriesInstanceUid,
      modality: 'DX',
      rows: frontal.phantom.height,
      columns: frontal.phantom.width,
      patientOrientation: ['L', 'F'],
      frameOfReferenceUid: null,
      // Pixel Spacing as written (DS, 16 characters at most).
      pixelSpacingMm: [expect.closeTo(frontal.phantom.pixelSpacingMm, 12), expect.closeTo(frontal.phantom.pixelSpacingMm, 12)],
    });
    expect(byUid.get(lateral.sopInstanceUid)?.sopClassUid).toBe(SopClass.ComputedRadiographyImageStorage);

    const modules = patientAndStudyModules(source);
    expect(modules.StudyInstanceUID).toBe(uid);
    expect(modules.PatientName).toEqual([{ Alphabetic: source.patient.name }]);
    expect(modules.AccessionNumber).toBe(source.study.accessionNumber);
  });

  test('says so when a study has no original left', async () => {
    await expect(readSourceStudy(objects, BUCKET, '1.2.826.0.1.3680043.8.498.5')).rejects.toThrow(SourceStudyNotFoundError);
  });
});
