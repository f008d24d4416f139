import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runDcmtkSync } from '@cxr/dcmtk';
import { writeGreyImageInstance, type GreyImageInstanceInput } from './grey-image-instance.ts';
import { toPresentation } from './greyscale.ts';
import { parseInstance } from './parse.ts';
import { decodeFrame } from './pixel-data.ts';
import { Tag } from './tags.ts';
import { generateUid, SopClass } from './uids.ts';

const dir = mkdtempSync(join(tmpdir(), 'cxr-grey-instance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 97 x 61 test pattern: a ramp over the full range, plus a bright disc and exact 0s and 1s. */
function testImage(): GreyImageInstanceInput['image'] {
  const width = 97;
  const height = 61;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inDisc = (x - 60) ** 2 + (y - 30) ** 2 < 15 ** 2;
      data[y * width + x] = x === 0 ? 0 : x === width - 1 ? 1 : inDisc ? 0.9 : (x * height + y) / (width * height);
    }
  }
  return { width, height, data };
}

function input(overrides: Partial<GreyImageInstanceInput> = {}): GreyImageInstanceInput {
  return {
    image: testImage(),
    pixelSpacingMm: 0.143,
    modality: 'DX',
    photometric: 'MONOCHROME2',
    patient: { id: 'PHANTOM-001', name: 'Phantom^Alpha', birthDate: '19700101', sex: 'O' },
    study: { instanceUid: generateUid(), accessionNumber: 'ACC001', date: '20260101', time: '101500', priority: 'STAT', description: 'Chest PA' },
    series: { instanceUid: generateUid(), number: 1, description: 'Synthetic' },
    sopInstanceUid: generateUid(),
    ...overrides,
  };
}

/** Run a DCMTK tool; fail on a non-zero exit. Returns stdout and stderr (warnings go to stderr). */
function dcmtk(command: string, args: string[]): { stdout: string; stderr: string } {
  const { stdout, stderr } = runDcmtkSync(command, args, { encoding: 'latin1', maxOutputBytes: 1 << 28 });
  return { stdout, stderr };
}

/** Max |presented/65535 - input| over the image. */
function maxError(presented: Uint16Array, data: Float32Array): number {
  let max = 0;
  for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(presented[i]! / 65535 - data[i]!));
  return max;
}

describe('writeGreyImageInstance', () => {
  test.each([
    ['DX', 'MONOCHROME2', 12],
    ['DX', 'MONOCHROME1', 12],
    ['CR', 'MONOCHROME2', 10],
    ['CR', 'MONOCHROME1', 16],
  ] as const)('round-trips a %s %s %i-bit image through parse, decode and presentation', (modality, photometric, bitsStored) => {
    const source = input({ modality, photometric, bitsStored });
    const instance = parseInstance(writeGreyImageInstance(source));
    expect(instance).toMatchObject({
      sopClassUid: modality === 'DX' ? SopClass.DigitalXRayImageStorageForPresentation : SopClass.ComputedRadiographyImageStorage,
      sopInstanceUid: source.sopInstanceUid,
      studyInstanceUid: source.study.instanceUid,
      seriesInstanceUid: source.series.instanceUid,
      modality,
      bodyPartExamined: 'CHEST',
      viewPosition: 'PA',
      photometricInterpretation: photometric,
      rows: 61,
      columns: 97,
      numberOfFrames: 1,
      patientId: 'PHANTOM-001',
      patientName: 'Phantom^Alpha',
      accessionNumber: 'ACC001',
      studyDate: '20260101',
      priority: 'STAT',
    });
    const frame = decodeFrame(instance, 0);
    expect(frame).toMatchObject({ bitsAllocated: 16, bitsStored, highBit: bitsStored - 1, pixelRepresentation: 0 });
    const presented = toPresentation(frame, instance);
    // Quantisation: half a stored step, plus half a 16-bit output step.
    expect(maxError(presented.data, source.image.data)).toBeLessThanOrEqual(0.5 / (2 ** bitsStored - 1) + 0.5 / 65535 + 1e-9);
  });

  test('writes inverted stored values for MONOCHROME1', () => {
    const instance = parseInstance(writeGreyImageInstance(input({ photometric: 'MONOCHROME1' })));
    const frame = decodeFrame(instance, 0);
    expect(frame.data[0]).toBe(4095); // input 0 (black) is the largest stored value
    expect(frame.data[96]).toBe(0); // input 1 (dense) is 0
  });

  test('round-trips with a rescale and a narrower window inside that window', () => {
    // Stored s, modality m = 2s - 1000; window 3095/4000 covers m in [1095, 5095) linearly.
    const source = input({ rescaleSlope: 2, rescaleIntercept: -1000, windowCenter: 3095.5, windowWidth: 4001 });
    const instance = parseInstance(writeGreyImageInstance(source));
    const presented = toPresentation(decodeFrame(instance, 0), instance);
    const data = source.image.data;
    for (let i = 0; i < data.length; i++) {
      const m = 2 * Math.round(data[i]! * 4095) - 1000;
      const expected = m <= 1095 ? 0 : m > 5095 ? 1 : (m - 3095) / 4000 + 0.5;
      expect(Math.abs(presented.data[i]! / 65535 - expected)).toBeLessThanOrEqual(0.5 / 65535 + 1e-9);
    }
  });

  test.each(['MONOCHROME2', 'MONOCHROME1'] as const)(
    'writes a %s file that DCMTK dcmdump -E reads without warnings and dcm2pnm renders like the input',
    (photometric) => {
      const source = input({ photometric });
      const file = join(dir, `${photometric}.dcm`);
      writeFileSync(file, writeGreyImageInstance(source));
      const dump = dcmtk('dcmdump', ['-E', '+L', file]);
      expect(dump.stdout).toContain('(0002,0010) UI =LittleEndianExplicit');
      expect(dump.stdout).toContain('(0008,0016) UI =DigitalXRayImageStorageForPresentation');
      expect(dump.stdout).toContain(`(2050,0020) CS [${photometric === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY'}]`);
      expect(dump.stdout).toContain('(0040,1003) CS [STAT]');
      expect(dump.stderr).toBe('');
      expect(dump.stdout).not.toMatch(/^[WE]:/m);
      // DCMTK's own rendering (its window, its MONOCHROME1/Presentation LUT handling) as 16-bit PGM.
      const pgm = dcmtk('dcm2pnm', ['+Wi', '1', '+opw', file]).stdout.split(/\s+/).filter((t) => t !== '');
      expect(pgm.slice(0, 4)).toEqual(['P2', '97', '61', '65535']);
      const rendered = Uint16Array.from(pgm.slice(4).map(Number));
      expect(maxError(rendered, source.image.data)).toBeLessThanOrEqual(0.5 / 4095 + 1 / 65535);
    },
  );

  test('writes a sequence DCMTK reads back item by item', () => {
    const file = join(dir, 'sequence.dcm');
    writeFileSync(file, writeGreyImageInstance(input()));
    const { stdout } = dcmtk('dcmdump', ['+P', '0008,2218', '+P', '0008,0100', file]);
    expect(stdout).toContain('(0008,0100) SH [43799004]');
  });

  test.each([
    ['a wrong number of pixels', { image: { width: 2, height: 2, data: new Float32Array(3) } }],
    ['an invalid SOP Instance UID', { sopInstanceUid: '1.2.03' }],
    ['bits stored above 16', { bitsStored: 17 }],
    ['a window centre without a width', { windowCenter: 100 }],
    ['a zero pixel spacing', { pixelSpacingMm: 0 }],
  ])('refuses %s', (_what, overrides) => {
    expect(() => writeGreyImageInstance(input(overrides as Partial<GreyImageInstanceInput>))).toThrow(/./);
  });

  test('names every DICOM attribute through Tag constants (no patient data in errors)', () => {
    try {
      writeGreyImageInstance(input({ patient: { id: 'X'.repeat(65), name: 'Secret^Name' } }));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain(Tag.PatientId);
      expect((error as Error).message).not.toContain('Secret');
      expect((error as Error).message).not.toContain('XXXX');
    }
  });
});
