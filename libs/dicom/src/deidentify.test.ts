import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runDcmtkSync } from '@cxr/dcmtk';
import { cleanPatientAge, DEIDENTIFICATION_METHOD, deidentifyMetadata } from './deidentify.ts';
import { writeGreyImageInstance } from './grey-image-instance.ts';
import { parseInstance } from './parse.ts';
import { CORPUS, corpusPath, HAS_SHARED_SAMPLES, NEEDS_SHARED, readCorpus, readSample, SHARED_SAMPLES_DIR } from './samples.test-support.ts';

// The corpus files our parser accepts (the malformed ones are refused before de-identification).
const CORPUS_FILES = CORPUS.filter((c) => !c.refusal).map((c) => c.name);
// The same for the shared samples.
const SAMPLES = [
  'CT_small.dcm', 'JPEG-LL.dcm', 'JPGExtended.dcm', 'MR_small_RLE.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm',
  'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'RG3_J2KI.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'examples_ybr_color.dcm',
  'image_dfl.dcm', 'liver_1frame.dcm', 'mlut_18.dcm', 'reportsi.dcm', 'vlut_04.dcm',
];

const KEPT_OR_WRITTEN = new Set([
  '00080016', '00080008', '00080060', '00080068', '00180015', '00185101', '00181164', '00187004', '00200020', '00200060', '00200062',
  '00280002', '00280004', '00280008', '00280010', '00280011', '00280030', '00280100', '00280101', '00280102', '00280103', '00281040',
  '00281050', '00281051', '00281052', '00281053', '00281054', '00281056', '00280301', '00282110', '20500020',
  '0020000D', '0020000E', '00080018', '00200052', '00100010', '00100020', '00120062', '00120063', '00120064', '00280303',
  // Retain Device Identity (manufacturer, model name) and Retain Patient Characteristics (sex, age).
  '00080070', '00081090', '00100040', '00101010',
]);

const replace = (uid: string) => `2.25.${BigInt(`0x${createHash('sha256').update(uid).digest('hex').slice(0, 30)}`)}`;

/**
 * Every value DCMTK shows in the original data set for attributes that identify or date
 * (persons, dates and times, free text, identifiers, institutions, devices), read independently of
 * our parser. None may survive de-identification.
 */
function identifyingValues(path: string): string[] {
  const dump = runDcmtkSync('dcmdump', ['+L', '-q', path], { encoding: 'latin1' }).stdout;
  const values: string[] = [];
  for (const line of dump.split('\n')) {
    const match = /^\s*\(([0-9a-f]{4}),([0-9a-f]{4})\) (PN|DA|DT|TM|LO|SH|LT|ST|UT|AE) \[([^\]]*)\]/i.exec(line);
    if (!match) continue;
    const [, group, element, , value] = match;
    if (group === '0002') continue;
    const tag = `${group}${element}`.toUpperCase();
    if (KEPT_OR_WRITTEN.has(tag)) continue;
    // Short numbers ("1200" as a time) would match window values by chance: dates and times
    // worth hiding have six digits or more, names and text have letters.
    for (const part of value!.split('\\').map((p) => p.trim())) if (part.length >= 6 || (part.length >= 3 && /[A-Za-z]/.test(part))) values.push(part);
  }
  return values;
}

function checkNothingIdentifyingLeft(bytes: Buffer, path: string): void {
  const instance = parseInstance(bytes);
  const out = deidentifyMetadata(instance, replace);
  const json = JSON.stringify(out);
  // A removed attribute may share its value with a kept one (Body Part Examined "WHOLE BODY"
  // and a protocol name, DCM in a code sequence), or its value may be part of one (Institution Name
  // "TOSHIBA" in the kept Manufacturer "TOSHIBA_MEC"): that value was kept on its own merits.
  const keptValues = [...new Set(JSON.stringify(out).match(/"[^"]*"/g)!.map((v) => v.slice(1, -1)))];
  const identifying = identifyingValues(path);
  const leaked = identifying.filter((value) => json.includes(value) && !keptValues.some((kept) => kept.includes(value)));
  expect(leaked).toEqual([]);
  for (const phi of [instance.patientName, instance.patientId, instance.accessionNumber, instance.studyDate]) {
    if (phi && phi.trim().length >= 2) expect(json).not.toContain(phi.trim());
  }
}

function checkAllowlisted(bytes: Buffer): void {
  const out = deidentifyMetadata(parseInstance(bytes), replace);
  expect(Object.keys(out).filter((tag) => !KEPT_OR_WRITTEN.has(tag))).toEqual([]);
  expect(out['00120062']).toEqual({ vr: 'CS', Value: ['YES'] });
  expect(out['00120063']).toEqual({ vr: 'LO', Value: [DEIDENTIFICATION_METHOD] });
  expect(out['00120064']?.Value?.[0]).toMatchObject({ '00080100': { Value: ['113100'] }, '00080102': { Value: ['DCM'] } });
  expect(out['00100010']).toEqual({ vr: 'PN' });
}

describe('deidentifyMetadata (PS3.15 Basic Application Confidentiality Profile) on the generated corpus', () => {
  test.each(CORPUS_FILES)('leaves no identifying value of %s behind', (file) => {
    // The generator writes names, dates, an institution, a station and free text into every file.
    expect(identifyingValues(corpusPath(file)).length).toBeGreaterThanOrEqual(8);
    checkNothingIdentifyingLeft(readCorpus(file), corpusPath(file));
  });

  test.each(CORPUS_FILES)('keeps only allowlisted attributes of %s and records the method', (file) => {
    checkAllowlisted(readCorpus(file));
  });

  test('replaces the UIDs with the stable mapping and keeps what analysis needs', () => {
    const instance = parseInstance(readCorpus('cr-j2k-lossless.dcm'));
    const out = deidentifyMetadata(instance, replace);
    expect(out['0020000D']).toEqual({ vr: 'UI', Value: [replace(instance.studyInstanceUid)] });
    expect(out['00080018']).toEqual({ vr: 'UI', Value: [replace(instance.sopInstanceUid)] });
    expect(JSON.stringify(out)).not.toContain(instance.studyInstanceUid);
    expect(out['00080060']).toEqual({ vr: 'CS', Value: ['CR'] });
    expect(out['00280010']).toEqual({ vr: 'US', Value: [1229] });
    expect(out['00280004']).toEqual({ vr: 'CS', Value: ['MONOCHROME1'] });
    expect(deidentifyMetadata(instance, replace)).toEqual(out);
  });

  test('reads numbers from a big-endian data set', () => {
    const out = deidentifyMetadata(parseInstance(readCorpus('mr-big-endian.dcm')), replace);
    expect(out['00280010']).toEqual({ vr: 'US', Value: [64] });
    expect(out['00280011']).toEqual({ vr: 'US', Value: [64] });
  });
});

describe('deidentifyMetadata: the Retain Patient Characteristics and Retain Device Identity options', () => {
  const instanceWith = (age: string | undefined) =>
    parseInstance(
      writeGreyImageInstance({
        image: { width: 4, height: 4, data: new Float32Array(16).fill(0.5) },
        pixelSpacingMm: 0.2, modality: 'DX', photometric: 'MONOCHROME2',
        patient: { id: 'ID123456', name: 'DOE^JANE', sex: 'F', ...(age !== undefined ? { age } : {}) },
        study: { instanceUid: '1.2.3.4' }, series: { instanceUid: '1.2.3.4.5' }, sopInstanceUid: '1.2.3.4.5.6',
        equipment: { manufacturer: 'ACME Imaging', modelName: 'Flatpanel 9' },
      }),
    );

  test('keeps the sex and the make and model of the device', () => {
    const out = deidentifyMetadata(instanceWith('047Y'), replace);
    expect(out['00100040']).toEqual({ vr: 'CS', Value: ['F'] });
    expect(out['00080070']).toEqual({ vr: 'LO', Value: ['ACME Imaging'] });
    expect(out['00081090']).toEqual({ vr: 'LO', Value: ['Flatpanel 9'] });
    expect(JSON.stringify(out)).not.toContain('DOE');
  });

  test.each([
    ['047Y', '047Y'],
    ['089Y', '089Y'],
    ['090Y', '090Y'],
    ['104Y', '090Y'],
    ['018M', '001Y'],
    ['003W', '000Y'],
    ['400D', '001Y'],
  ])('keeps a Patient\'s Age of %s as %s (whole years, 90 and over as 090Y)', (age, kept) => {
    expect(cleanPatientAge(age)).toBe(kept);
    expect(deidentifyMetadata(instanceWith(age), replace)['00101010']).toEqual({ vr: 'AS', Value: [kept] });
  });

  test.each([['45'], ['045X'], ['']])('drops a malformed Patient\'s Age %j instead of guessing', (age) => {
    expect(deidentifyMetadata(instanceWith(age), replace)['00101010']).toBeUndefined();
  });
});

describe.skipIf(!HAS_SHARED_SAMPLES)(`deidentifyMetadata (PS3.15 Basic Application Confidentiality Profile) on the shared samples ${NEEDS_SHARED}`, () => {
  const sharedPath = (file: string) => join(SHARED_SAMPLES_DIR!, file);
  test.each(SAMPLES)('leaves no identifying value of %s behind', (file) => {
    checkNothingIdentifyingLeft(readSample(file), sharedPath(file));
  });

  test.each(SAMPLES)('keeps only allowlisted attributes of %s and records the method', (file) => {
    checkAllowlisted(readSample(file));
  });

  test('replaces the UIDs with the stable mapping and keeps what analysis needs', () => {
    const instance = parseInstance(readSample('RG3_J2KI.dcm'));
    const out = deidentifyMetadata(instance, replace);
    expect(out['0020000D']).toEqual({ vr: 'UI', Value: [replace(instance.studyInstanceUid)] });
    expect(out['00080018']).toEqual({ vr: 'UI', Value: [replace(instance.sopInstanceUid)] });
    expect(JSON.stringify(out)).not.toContain(instance.studyInstanceUid);
    expect(out['00080060']).toEqual({ vr: 'CS', Value: [instance.modality] });
    expect(out['00280010']).toEqual({ vr: 'US', Value: [instance.rows] });
    expect(out['00280004']).toEqual({ vr: 'CS', Value: [instance.photometricInterpretation] });
    expect(deidentifyMetadata(instance, replace)).toEqual(out);
  });

  test('reads numbers from a big-endian data set', () => {
    const instance = parseInstance(readSample('MR_small_bigendian.dcm'));
    const out = deidentifyMetadata(instance, replace);
    expect(out['00280010']).toEqual({ vr: 'US', Value: [instance.rows] });
    expect(out['00280011']).toEqual({ vr: 'US', Value: [instance.columns] });
  });
});
