import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import { SopClass } from '@cxr/dicom';
import { AI_RESULT_NOTICE, decodeHeatmap, type ImageHeatmaps } from './ai-results.ts';
import { dcmtk, problemLines } from './dcmtk-tools.ts';
import { dciodvfy, findPydicomPython, readWithPydicom } from './independent-readers.test-support.ts';
import { measurementReportUids, toMeasurementReport } from './measurement-report.ts';
import { toParametricMap } from './parametric-map.ts';
import { NothingToExportError } from './report-content.ts';
import { draftReportFixture, signedReportFixture, sourceStudyFixture } from './report-fixtures.test-support.ts';
import { packBits, toBinarySegmentation, toSegmentation } from './segmentation.ts';

// Every AI-result object checked by readers that share no code with ours: dciodvfy (dicom3tools)
// against its IOD, DCMTK's dsrdump/dcmdump, and pydicom reading the pixels back.

const dir = mkdtempSync(join(tmpdir(), 'report-ai-objects-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const python = await findPydicomPython();
const source = sourceStudyFixture(); // one 400 x 480 DX image, Patient Orientation L\F
const image = source.instances[0]!;

/** The only dciodvfy warnings these objects may have (each explained in docs/ihe-air.md). */
const ACCEPTED_WARNINGS = [
  /Unrecognized defined term <99CXR> for value 1 of attribute <Coding Scheme Designator>/,
  /Unrecognized defined term <NONE> for value 3 of attribute <(Image|Frame) Type>/,
];

/**
 * A 10 x 12 heatmap (as the worker writes it: 8-bit grey PNG) that is `background` everywhere but
 * a 2 x 2 block of `peak` whose top-left cell is (`column`, `row`).
 */
async function heatmapPng(peak: number, background: number, column: number, row: number): Promise<Buffer> {
  const [width, height] = [10, 12];
  const grey = Buffer.alloc(width * height, background);
  for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) grey[(row + dy) * width + column + dx] = peak;
  return sharp(grey, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** The draft fixture's two findings on its one image: effusion peaking low right (image left), mass upper left. */
async function imageHeatmaps(report = draftReportFixture()): Promise<ImageHeatmaps> {
  const pngs = [await heatmapPng(232, 10, 1, 8), await heatmapPng(51, 3, 6, 2)];
  return { instance: image, findings: await Promise.all(report.findings.map(async (finding, k) => ({ finding, heatmap: await decodeHeatmap(pngs[k]!) }))) };
}

let counter = 0;
function save(bytes: Buffer): string {
  counter += 1;
  const file = join(dir, `object-${counter}.dcm`);
  writeFileSync(file, bytes);
  return file;
}

async function expectValidIod(file: string, iod: string): Promise<void> {
  const check = await dciodvfy(file);
  expect(check.iod).toBe(iod);
  expect(check.errors).toEqual([]);
  expect(check.warnings.filter((w) => !ACCEPTED_WARNINGS.some((accepted) => accepted.test(w)))).toEqual([]);
}

/** The heatmap cell (column, row) of 40 x 40 source pixels: its pixel bounds. */
function cellPixels(column: number, row: number, cells = 2): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: column * 40, x1: (column + cells) * 40, y0: row * 40, y1: (row + cells) * 40 };
}

describe('toParametricMap', () => {
  test('writes each heatmap as a float frame of probabilities that dciodvfy passes and pydicom reads back on the source image grid', async () => {
    const report = draftReportFixture();
    const file = save(toParametricMap({ report, source, image: await imageHeatmaps(report), now: new Date('2026-01-05T12:00:00Z') }));
    await expectValidIod(file, 'ParametricMap');

    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.code).toBe(0);
    expect(problemLines(dump)).toEqual([]);
    expect(dump.stdout).toContain('(0008,0016) UI =ParametricMapStorage');
    expect(dump.stdout).toMatch(/\(7fe0,0008\) OF /); // Float Pixel Data
    expect(dump.stdout).toContain('(0020,000d) UI [1.2.826.0.1.3680043.8.498.101]');
    expect(dump.stdout).toContain('(0010,0020) LO [SYN000042]');
    // Registered to the source: derivation per frame, with the source image and its purpose.
    expect(dump.stdout).toMatch(/DerivationImageSequence[\s\S]*SourceImageSequence[\s\S]*\(0008,1155\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.103\][\s\S]*\(0008,0100\) SH \[121322\][\s\S]*\(0028,135a\) CS \[YES\]/);
    expect(dump.stdout).toMatch(/ReferencedSeriesSequence[\s\S]*\(0020,000e\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.102\]/);
    expect(dump.stdout).toContain('(0020,0052) UI ['); // Frame of Reference
    // The plane a viewer gives a DX without Image Orientation (Patient), not the coronal one its L\F would suggest.
    expect(dump.stdout).toContain('(0020,0037) DS [1\\0\\0\\0\\1\\0]');
    // Real World Value Mapping: identity, probability, naming the finding.
    expect(dump.stdout).toContain('(0040,9225) FD 1'); // slope
    expect(dump.stdout).toContain('(0040,9224) FD 0'); // intercept
    expect(dump.stdout).toContain('(0008,0100) SH [{probability}]');
    expect(dump.stdout).toContain('(0008,0100) SH [60046008]');
    expect(dump.stdout).toContain('(0018,9004) CS [RESEARCH]');
    expect(dump.stdout).toContain(`(0020,4000) LT [${AI_RESULT_NOTICE}`);
    expect(dump.stdout).toContain('(0018,1000) LO [abababababababab]'); // the model build as the device serial number

    if (!python) return; // pydicom is not installed here: the dciodvfy and DCMTK checks above still ran
    const peakEffusion = cellPixels(1, 8);
    const peakMass = cellPixels(6, 2);
    // The centre of each peak block, and a pixel far from both.
    const reading = await readWithPydicom(python, file, [[(peakEffusion.y0 + peakEffusion.y1) / 2, (peakEffusion.x0 + peakEffusion.x1) / 2], [(peakMass.y0 + peakMass.y1) / 2, (peakMass.x0 + peakMass.x1) / 2], [20, 380]]);
    expect(reading.sopClassUid).toBe(SopClass.ParametricMapStorage);
    expect(reading.pixels?.dtype).toBe('float32');
    expect(reading.pixels?.shape).toEqual([2, 480, 400]);
    const [effusion, mass] = reading.pixels!.frames;
    expect(effusion!.max).toBeCloseTo(232 / 255, 6);
    expect(effusion!.min).toBeCloseTo(10 / 255, 6);
    expect(effusion!.samples[0]).toBeCloseTo(232 / 255, 6);
    expect(effusion!.samples[2]).toBeCloseTo(10 / 255, 6);
    expect(mass!.max).toBeCloseTo(51 / 255, 6);
    expect(mass!.samples[1]).toBeCloseTo(51 / 255, 6);
    for (const [frame, peak] of [[effusion!, peakEffusion], [mass!, peakMass]] as const) {
      const [row, column] = frame.argmax;
      expect(row).toBeGreaterThanOrEqual(peak.y0);
      expect(row).toBeLessThan(peak.y1);
      expect(column).toBeGreaterThanOrEqual(peak.x0);
      expect(column).toBeLessThan(peak.x1);
    }
  });

  test('states a grid reduced by a whole factor for an image larger than 2048 pixels, with spatial locations not preserved', async () => {
    const large = sourceStudyFixture({ instances: [{ ...image, rows: 4300, columns: 3500, pixelSpacingMm: [0.1, 0.1] }] });
    const report = draftReportFixture();
    const heatmaps = await imageHeatmaps(report);
    const file = save(toParametricMap({ report, source: large, image: { ...heatmaps, instance: large.instances[0]! } }));
    await expectValidIod(file, 'ParametricMap');
    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.stdout).toContain('(0028,0010) US 1434'); // ceil(4300 / 3)
    expect(dump.stdout).toContain('(0028,0011) US 1167'); // ceil(3500 / 3)
    expect(dump.stdout).toContain('(0028,0030) DS [0.3\\0.3]');
    expect(dump.stdout).toContain('(0028,135a) CS [NO]');
    expect(dump.stdout).toContain('reduced by a factor of 3');
  });
});

describe('toSegmentation', () => {
  test('writes one fractional probability segment per finding, coded with its SNOMED CT code, that dciodvfy passes and pydicom reads back', async () => {
    const report = draftReportFixture();
    const file = save(toSegmentation({ report, source, image: await imageHeatmaps(report) }));
    await expectValidIod(file, 'Segmentation');
    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.code).toBe(0);
    expect(problemLines(dump)).toEqual([]);
    expect(dump.stdout).toContain('(0062,0001) CS [FRACTIONAL]');
    expect(dump.stdout).toContain('(0062,0010) CS [PROBABILITY]');
    expect(dump.stdout).toContain('(0062,000e) US 255');
    expect(dump.stdout).toContain('(0062,0005) LO [Pleural effusion]');
    expect(dump.stdout).toContain('(0062,0008) CS [AUTOMATIC]');
    expect(dump.stdout).toContain('(0062,0009) LO [cxr-reference 0.1.0]');
    expect(dump.stdout).toMatch(/DerivationImageSequence[\s\S]*\(0008,1155\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.103\]/);
    // The PMAP's plane geometry (viewers need it to place the frames): same frame of reference, identity orientation.
    const frameOfReference = /\(0020,0052\) UI \[([\d.]+)\]/.exec(dump.stdout)?.[1];
    expect(frameOfReference).toBeDefined();
    const pmap = await dcmtk('dcmdump', ['+L', save(toParametricMap({ report, source, image: await imageHeatmaps(report) }))]);
    expect(pmap.stdout).toContain(`(0020,0052) UI [${frameOfReference}]`);
    expect(dump.stdout).toMatch(/SharedFunctionalGroupsSequence[\s\S]*\(0020,0032\) DS \[0\\0\\0\][\s\S]*\(0020,0037\) DS \[1\\0\\0\\0\\1\\0\][\s\S]*PixelMeasuresSequence[\s\S]*PerFrameFunctionalGroupsSequence/);

    if (!python) return;
    const peak = cellPixels(1, 8);
    const reading = await readWithPydicom(python, file, [[(peak.y0 + peak.y1) / 2, (peak.x0 + peak.x1) / 2]]);
    expect(reading.sopClassUid).toBe(SopClass.SegmentationStorage);
    expect(reading.modality).toBe('SEG');
    expect(reading.pixels?.dtype).toBe('uint8');
    expect(reading.pixels?.shape).toEqual([2, 480, 400]);
    // The 8-bit heatmap values come back exactly (probability x Maximum Fractional Value 255).
    expect(reading.pixels!.frames.map((f) => [f.min, f.max])).toEqual([[10, 232], [3, 51]]);
    expect(reading.pixels!.frames[0]!.samples[0]).toBe(232);
    expect(reading.segments).toEqual([
      { number: 1, label: 'Pleural effusion', propertyType: '60046008,SCT', algorithmType: 'AUTOMATIC' },
      { number: 2, label: 'Lung mass', propertyType: 'mass,99CXR', algorithmType: 'AUTOMATIC' },
    ]);
  });

  test('gives each image its own object, and the same image and analysis the same UID whatever the report says', async () => {
    const draft = draftReportFixture();
    const signed = signedReportFixture();
    const a = await imageHeatmaps(draft);
    const other = { ...image, sopInstanceUid: '1.2.826.0.1.3680043.8.498.104' };
    const uidOf = async (bytes: Buffer): Promise<string> => {
      const dump = await dcmtk('dcmdump', ['+P', '0008,0018', save(bytes)]);
      return dump.stdout.trim();
    };
    const first = await uidOf(toSegmentation({ report: draft, source, image: a }));
    expect(await uidOf(toSegmentation({ report: signed, source, image: a }))).toBe(first);
    expect(await uidOf(toSegmentation({ report: draft, source: sourceStudyFixture({ instances: [other] }), image: { ...a, instance: other } }))).not.toBe(first);
  });

  test('refuses an image with no heatmaps', () => {
    expect(() => toSegmentation({ report: draftReportFixture(), source, image: { instance: image, findings: [] } })).toThrow(NothingToExportError);
  });
});

describe('toBinarySegmentation', () => {
  test('writes a 1-bit segment per finding called present, set where its map reaches its threshold, that dciodvfy passes and pydicom reads back', async () => {
    const report = draftReportFixture(); // effusion present at threshold 0.5; the mass absent (no segment)
    const file = save(toBinarySegmentation({ report, source, image: await imageHeatmaps(report) }));
    await expectValidIod(file, 'Segmentation');
    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.code).toBe(0);
    expect(problemLines(dump)).toEqual([]);
    expect(dump.stdout).toContain('(0062,0001) CS [BINARY]');
    expect(dump.stdout).not.toContain('(0062,0010)'); // no Segmentation Fractional Type
    expect(dump.stdout).toContain('(0028,0100) US 1');
    expect(dump.stdout).toContain('(0028,0008) IS [1]');
    expect(dump.stdout).toContain('(0062,0005) LO [Pleural effusion]');
    expect(dump.stdout).toContain('operating threshold 0.5');
    expect(dump.stdout).toContain('(0020,0011) IS [905]');
    // Its own series and UID, apart from the fractional one's.
    const fractional = await dcmtk('dcmdump', ['+P', '0008,0018', save(toSegmentation({ report, source, image: await imageHeatmaps(report) }))]);
    const binary = await dcmtk('dcmdump', ['+P', '0008,0018', file]);
    expect(binary.stdout).toMatch(/\(0008,0018\) UI \[[\d.]+\]/);
    expect(binary.stdout.trim()).not.toBe(fractional.stdout.trim());

    if (!python) return;
    const peak = cellPixels(1, 8);
    const reading = await readWithPydicom(python, file, [[(peak.y0 + peak.y1) / 2, (peak.x0 + peak.x1) / 2], [20, 380]]);
    expect(reading.sopClassUid).toBe(SopClass.SegmentationStorage);
    expect(reading.pixels?.shape).toEqual([1, 480, 400]);
    const [effusion] = reading.pixels!.frames;
    expect([effusion!.min, effusion!.max]).toEqual([0, 1]);
    expect(effusion!.samples).toEqual([1, 0]);
    // The 2 x 2 cell peak (232/255) over a 10/255 background, resampled bilinearly at pixel centres,
    // reaches 0.5 (128/255 once quantised) from 0.5315 of a cell before the block's first cell centre
    // to as far past its last: pixel rows 321..398 and columns 41..118 (cells are 40 pixels).
    expect(effusion!.bbox).toEqual([321, 398, 41, 118]);
    expect(reading.segments).toEqual([{ number: 1, label: 'Pleural effusion', propertyType: '60046008,SCT', algorithmType: 'AUTOMATIC' }]);
  });

  test('has no segment for a finding called present whose map nowhere reaches its threshold, and no object when no segment is left', async () => {
    const report = draftReportFixture();
    report.findings[0] = { ...report.findings[0]!, threshold: 0.95 }; // above the map's peak, 232/255
    const heatmaps = await imageHeatmaps(report);
    expect(() => toBinarySegmentation({ report, source, image: heatmaps })).toThrow(NothingToExportError);
  });

  test('packs frames bit after bit across byte boundaries, least significant bit first, to an even length', () => {
    // Two 3 x 3 frames: 18 bits, so the second frame starts mid-byte.
    const a = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const b = Uint8Array.from([0, 0, 1, 0, 0, 0, 1, 1, 1]);
    const packed = packBits([a, b], 9);
    expect(packed.length).toBe(4);
    // bits 0..17: 1 0 0 0 1 0 0 0 | 1 0 0 1 0 0 0 1 | 1 1
    expect([...packed]).toEqual([0b00010001, 0b10001001, 0b00000011, 0]);
  });
});

describe('toMeasurementReport', () => {
  test('writes the AI findings as a TID 1500 measurement report that dciodvfy passes, dsrdump reads and pydicom walks', async () => {
    const report = draftReportFixture();
    const file = save(toMeasurementReport(report, source, { now: new Date('2026-01-05T12:00:00Z') }));
    await expectValidIod(file, 'Comprehensive3DSR');

    const sr = await dcmtk('dsrdump', ['+Pc', '+Pl', '+Pt', '+Pu', file]);
    expect(sr.code).toBe(0);
    expect(problemLines(sr)).toEqual([]);
    const tree = sr.stdout;
    expect(tree).toContain('<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>  # TID 1500 (DCMR)');
    expect(tree).toMatch(/Completion Flag\s+: COMPLETE/);
    expect(tree).toMatch(/Verification Flag\s+: UNVERIFIED/);
    expect(tree).toContain('AI results: measurement report (AI generated, not validated)');
    expect(tree).toContain('<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>');
    expect(tree).toContain('<has obs context TEXT:(121013,DCM,"Device Observer Name")="cxr-reference">');
    expect(tree).toContain('<has obs context TEXT:(121014,DCM,"Device Observer Manufacturer")="CXR-ASSIST">');
    expect(tree).toContain('<has obs context TEXT:(121015,DCM,"Device Observer Model Name")="cxr-reference 0.1.0">');
    expect(tree).toMatch(/<has obs context UIDREF:\(121012,DCM,"Device Observer UID"\)="2\.25\.\d+">/);
    expect(tree).toContain('<has concept mod CODE:(121058,DCM,"Procedure reported")=(399208008,SCT,"Plain chest X-ray")>');
    expect(tree).toContain('<contains CONTAINER:(111028,DCM,"Image Library")=SEPARATE>');
    expect(tree).toContain('<contains IMAGE:=(DX image,"1.2.826.0.1.3680043.8.498.103")>');
    expect(tree).toContain('<contains CONTAINER:(125007,DCM,"Measurement Group")=SEPARATE>  # TID 1410 (DCMR)');
    expect(tree).toContain('<contains CODE:(121071,DCM,"Finding")=(60046008,SCT,"Pleural effusion")>');
    expect(tree).toContain('<contains TEXT:(121106,DCM,"Comment")="AI: Pleural effusion">'); // the measurement's label in viewers
    expect(tree).toContain('<contains CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>');
    expect(tree).toContain('<contains NUM:(111012,DCM,"Certainty of Finding")="0.91" ({probability},UCUM,"probability")>');
    expect(tree).toContain('<contains SCOORD:(111030,DCM,"Image Region")=(POLYLINE,40/288,160/288,160/408,40/408,40/288)>');
    expect(tree).toContain('<selected from IMAGE:=(DX image,"1.2.826.0.1.3680043.8.498.103")>');
    // The probability is inferred from the same region (where Cornerstone's SR reader looks for a group's geometry).
    expect(tree).toContain('<inferred from SCOORD:(121112,DCM,"Source of Measurement")=(POLYLINE,40/288,160/288,160/408,40/408,40/288)>');
    expect(tree).toContain('Comprehensive 3D SR Document');
    // Only findings with a region are measurement groups; no group without geometry (TID 1501).
    expect(tree.match(/"Measurement Group"/g)).toHaveLength(1);
    expect(tree).not.toContain('# TID 1501');
    // The negative finding without a region: a qualitative evaluation, absent, with its probability inferred from the image.
    const qualitative = tree.slice(tree.indexOf('(C0034375,UMLS,"Qualitative Evaluations")'));
    expect(qualitative).toMatch(/<contains CODE:\(121071,DCM,"Finding"\)=\([^)]*"Lung mass"\)>/);
    expect(qualitative).toContain('<has properties CODE:(705057003,SCT,"Presence")=(272519000,SCT,"Absent")>');
    expect(qualitative).toContain('<has properties NUM:(111012,DCM,"Certainty of Finding")="0.04" ({probability},UCUM,"probability")>');
    expect(qualitative).toContain('<inferred from IMAGE:(121112,DCM,"Source of Measurement")=(DX image,"1.2.826.0.1.3680043.8.498.103")>');
    expect(qualitative).toContain(`<contains TEXT:(121106,DCM,"Comment")="${AI_RESULT_NOTICE}.`);

    if (!python) return;
    const reading = await readWithPydicom(python, file);
    expect(reading.sopClassUid).toBe(SopClass.Comprehensive3DSR);
    expect(reading.sr?.root).toBe('Imaging Measurement Report');
    expect(reading.sr?.template).toBe('1500');
    expect(reading.sr?.concepts.filter((c) => c.endsWith('Measurement Group'))).toHaveLength(1);
    expect(reading.sr?.concepts.filter((c) => c === 'CONTAINS CODE Finding')).toHaveLength(2);
    expect(reading.sr?.concepts).toContain('CONTAINS SCOORD Image Region');
    expect(reading.sr?.concepts).toContain('INFERRED FROM SCOORD Source of Measurement');
    expect(reading.sr?.concepts).toContain('SELECTED FROM IMAGE (IMAGE)');
  });

  test('is the model output only: signing the report changes neither the object UID nor the presence the model called', async () => {
    const draft = draftReportFixture();
    const rejected = signedReportFixture();
    rejected.findings[0] = { ...rejected.findings[0]!, decision: 'rejected' };
    expect(measurementReportUids(rejected)).toEqual(measurementReportUids(draft));
    const sr = await dcmtk('dsrdump', ['+Pc', save(toMeasurementReport(rejected, source))]);
    expect(sr.stdout).toContain('=(60046008,SCT,"Pleural effusion")>');
    expect(sr.stdout).toContain('<contains CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>');
    expect(sr.stdout).not.toContain('Verifying Observer');
  });

  test('refuses a report without AI findings', () => {
    expect(() => toMeasurementReport(draftReportFixture({ status: 'pending', findings: [], model: null }), source)).toThrow(NothingToExportError);
    expect(() => toMeasurementReport(draftReportFixture({ findings: [] }), source)).toThrow(NothingToExportError);
  });
});
