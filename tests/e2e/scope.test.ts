import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reportResponseSchema, type ReportResponse } from '@cxr/contracts';
import { decodeFrameAsync, generateUid, parseInstance, toPresentation, writeGreyImageInstance } from '@cxr/dicom';
import { REPO_ROOT, dcmsend, startStack, waitFor, type Stack } from '@cxr/devstack';
import { mintDevToken } from '@cxr/platform';
import { createRng } from '@cxr/phantom';
import { makeChestStudy } from '@cxr/phantom/dicom';

/**
 * The model refuses what it was not built for, for the right reason, with the whole stack: a real
 * radiograph (the reference model has only seen synthetic phantoms), images no radiograph model
 * should read, and a lateral view; while a phantom still gets its draft.
 */
const REAL_CXR = resolve(REPO_ROOT, '..', 'shared', 'real-cxr');
const haveRealCxr = existsSync(join(REAL_CXR, 'nih-00000001_000.dcm'));
let stack: Stack;
let dir: string;
let authorization: { Authorization: string };

async function waitForStatus(studyUid: string, timeoutMs = 90_000): Promise<ReportResponse> {
  return waitFor(`study report to be decided`, async () => {
    const res = await fetch(`${stack.reportUrl}/api/studies/${studyUid}/report`, { headers: authorization });
    if (res.status !== 200) return undefined;
    const body = reportResponseSchema.parse(await res.json());
    return body.status === 'pending' ? undefined : body;
  }, timeoutMs, 250);
}

async function send(name: string, bytes: Buffer): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
}

function studyUidOf(file: string): string {
  return execFileSync('dcmdump', ['-q', '+P', '0020,000d', file], { encoding: 'latin1' }).match(/\[([0-9.]+)\]/)![1]!;
}

function expectOutOfScope(report: ReportResponse, check: string, reason: RegExp): void {
  expect(report.status).toBe('out-of-scope');
  expect(report.statusReason).toMatch(reason);
  expect(report.findings).toEqual([]);
  expect(report.text).toBe('');
  expect(report.sections).toEqual({ findings: '', impression: '' });
  expect(report.outOfScopeImages.map((i) => i.check)).toEqual([check]);
}

/** A grey picture with no chest in it: smooth random blobs over a gradient. */
function nonRadiograph(seed: number, width: number, height: number): Float32Array {
  const rng = createRng(seed);
  const blobs = Array.from({ length: 40 }, () => ({ x: rng.uniform(0, width), y: rng.uniform(0, height), r: rng.uniform(10, 120), v: rng.uniform(-0.4, 0.4) }));
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0.3 + (0.4 * x) / width;
      for (const b of blobs) v += b.v * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
      data[y * width + x] = Math.min(1, Math.max(0, v));
    }
  return data;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-scope-'));
  authorization = { Authorization: `Bearer ${await mintDevToken({ role: 'viewer' })}` };
  stack = await startStack({ dataDir: dir, resetS3: true, redisAppendOnly: false, env: { INGEST_STUDY_STABLE_MS: '800', LOG_LEVEL: 'info' } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the model refuses what it was not built for', () => {
  test.skipIf(!haveRealCxr)('a real chest radiograph sent by dcmsend ends out-of-scope with its reason and no findings (needs ../shared/real-cxr)', async () => {
    const file = join(dir, 'real.dcm');
    copyFileSync(join(REAL_CXR, 'nih-00000001_000.dcm'), file);
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    const report = await waitForStatus(studyUidOf(file));
    expectOutOfScope(report, 'out-of-distribution', /^The AI model was not built for this image: it is unlike the chest radiographs it was trained on \(score \d+\.\d, limit \d+\.\d\)$/);
    const { score, limit } = report.outOfScopeImages[0]!;
    expect(score!).toBeGreaterThan(limit!);
  });

  test.skipIf(!haveRealCxr)('the same radiograph with its View Position removed is refused by its pixels (needs ../shared/real-cxr)', async () => {
    const file = join(dir, 'real-no-view.dcm');
    copyFileSync(join(REAL_CXR, 'nih-00000001_000.dcm'), file);
    // New study, series and instance UIDs, and no (0018,5101): a missing tag is not a pass.
    execFileSync('dcmodify', ['-nb', '-ea', '(0018,5101)', '-gst', '-gse', '-gin', file]);
    expect(execFileSync('dcmdump', ['-q', file], { encoding: 'latin1' })).not.toMatch(/\(0018,5101\)/);
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    const report = await waitForStatus(studyUidOf(file));
    expectOutOfScope(report, 'out-of-distribution', /unlike the chest radiographs it was trained on/);
  });

  test.skipIf(!haveRealCxr)("a real radiograph's pixels written with every tag our phantom writer puts in are still refused (needs ../shared/real-cxr)", async () => {
    const real = parseInstance(readFileSync(join(REAL_CXR, 'tbx11k-h0001.dcm')));
    const grey = toPresentation(await decodeFrameAsync(real, 0), real);
    const study = makeChestStudy({ seed: 3304 }); // for its identifiers only
    const file = writeGreyImageInstance({
      image: { width: grey.width, height: grey.height, data: Float32Array.from(grey.data, (v) => v / 65535) },
      pixelSpacingMm: 0.2, modality: 'DX', photometric: 'MONOCHROME2',
      patient: { id: study.patient.id, name: study.patient.name, sex: 'O' },
      study: { instanceUid: study.studyInstanceUid, accessionNumber: study.accessionNumber, description: 'CHEST PA (synthetic phantom)' },
      series: { instanceUid: study.seriesInstanceUid, number: 1, description: 'PA' },
      sopInstanceUid: study.sopInstanceUid, bodyPart: 'CHEST', viewPosition: 'PA',
    });
    await send('real-as-phantom.dcm', file);
    expectOutOfScope(await waitForStatus(study.studyInstanceUid), 'out-of-distribution', /unlike the chest radiographs it was trained on/);
  });

  test("a phantom whose writer's tags are rewritten (manufacturer, descriptions, DCMTK's UID root) still gets its draft", async () => {
    const study = makeChestStudy({ seed: 3305, findings: [{ code: 'cardiomegaly', tier: 'obvious' }] });
    const file = join(dir, 'rewritten.dcm');
    writeFileSync(file, study.file);
    execFileSync('dcmodify', ['-nb', '-i', '(0008,0070)=ACME MEDICAL', '-i', '(0008,1090)=DR-9000', '-m', '(0008,1030)=XR CHEST 1 VIEW', '-m', '(0008,103e)=AP PORTABLE', '-gst', '-gse', '-gin', file]);
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    const report = await waitForStatus(studyUidOf(file));
    expect(report.status).toBe('draft');
    expect(report.studyInstanceUid).not.toBe(study.studyInstanceUid);
    expect(report.findings.filter((f) => f.positive).map((f) => f.code)).toContain('cardiomegaly');
  });

  test('a grey picture that is no radiograph, with every tag a phantom has, is refused as unlike the training images', async () => {
    const width = 800;
    const height = 960;
    const studyInstanceUid = generateUid();
    const file = writeGreyImageInstance({
      image: { width, height, data: nonRadiograph(7, width, height) },
      pixelSpacingMm: 0.4,
      modality: 'DX',
      photometric: 'MONOCHROME2',
      patient: { id: 'SYN-SCOPE-1', name: 'PHANTOM^SCOPE', sex: 'O' },
      study: { instanceUid: studyInstanceUid, accessionNumber: 'ACCSCOPE1', description: 'CHEST PA (synthetic phantom)' },
      series: { instanceUid: generateUid(), number: 1, description: 'PA' },
      sopInstanceUid: generateUid(),
      bodyPart: 'CHEST',
      viewPosition: 'PA',
    });
    await send('blobs.dcm', file);
    expectOutOfScope(await waitForStatus(studyInstanceUid), 'out-of-distribution', /unlike the chest radiographs it was trained on \(score/);
  });

  test('a phantom shown inverted (bright lungs) is refused for its polarity', async () => {
    const study = makeChestStudy({ seed: 3301 });
    const inverted = Float32Array.from(study.phantom.pixels, (v) => 1 - v);
    const file = writeGreyImageInstance({
      image: { width: study.phantom.width, height: study.phantom.height, data: inverted },
      pixelSpacingMm: study.phantom.pixelSpacingMm,
      modality: 'DX',
      photometric: 'MONOCHROME2',
      patient: { id: 'SYN-SCOPE-2', name: 'PHANTOM^SCOPE', sex: 'O' },
      study: { instanceUid: study.studyInstanceUid, accessionNumber: 'ACCSCOPE2', description: 'CHEST PA (synthetic phantom)' },
      series: { instanceUid: study.seriesInstanceUid, number: 1, description: 'PA' },
      sopInstanceUid: study.sopInstanceUid,
      bodyPart: 'CHEST',
      viewPosition: 'PA',
    });
    await send('inverted.dcm', file);
    expectOutOfScope(await waitForStatus(study.studyInstanceUid), 'polarity', /appears inverted/);
  });

  test('a blank image is refused as blank', async () => {
    const studyInstanceUid = generateUid();
    const file = writeGreyImageInstance({
      image: { width: 600, height: 700, data: new Float32Array(600 * 700).fill(0.3) },
      pixelSpacingMm: 0.5, modality: 'DX', photometric: 'MONOCHROME2',
      patient: { id: 'SYN-SCOPE-3', name: 'PHANTOM^SCOPE', sex: 'O' },
      study: { instanceUid: studyInstanceUid, accessionNumber: 'ACCSCOPE3', description: 'CHEST PA' },
      series: { instanceUid: generateUid(), number: 1, description: 'PA' },
      sopInstanceUid: generateUid(), bodyPart: 'CHEST', viewPosition: 'PA',
    });
    await send('blank.dcm', file);
    expectOutOfScope(await waitForStatus(studyInstanceUid), 'blank', /blank/);
  });

  test('a lateral view (View Position LL) ends not-eligible with the scope as the reason', async () => {
    const study = makeChestStudy({ seed: 3302, viewPosition: 'LL' });
    await send('lateral.dcm', study.file);
    const report = await waitForStatus(study.studyInstanceUid);
    expect(report.status).toBe('not-eligible');
    expect(report.statusReason).toMatch(/view position LL is outside the model's scope \(PA, AP\)/);
    expect(report.findings).toEqual([]);
  });

  test('a phantom still gets its draft, with no image refused', async () => {
    const study = makeChestStudy({ seed: 3303, findings: [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }] });
    await send('phantom.dcm', study.file);
    const report = await waitForStatus(study.studyInstanceUid);
    expect(report.status).toBe('draft');
    expect(report.outOfScopeImages).toEqual([]);
    expect(report.findings.filter((f) => f.positive).map((f) => f.code)).toContain('pleural_effusion');
  });
});
