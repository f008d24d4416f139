import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { toPresentation, storedValueReader, voiSourceOf, windowFunction, type PresentationOptions } from './greyscale.ts';
import { parseInstance } from './parse.ts';
import { decodeFrameAsync, type DecodedFrame } from './pixel-data.ts';
import { corpusCase, corpusPath, corpusSourcePixels, HAS_SHARED_SAMPLES, NEEDS_SHARED, readCorpus, readSample } from './samples.test-support.ts';

/**
 * Expected values from DCMTK 3.6.7: `dcm2pnm <window option> +opw file.dcm` (16-bit ASCII PGM,
 * 0..65535, MONOCHROME1 shown inverted like a MONOCHROME2 display). `idx` are pixel indices,
 * `ref` DCMTK's values there, `mean` DCMTK's mean over the whole image. DCMTK rounds a little
 * differently, so we allow ±1.
 *
 * DCMTK cannot decode JPEG 2000, so RG3_J2KI's reference was rendered from a native copy holding
 * the same stored values (which match OpenJPEG's opj_decompress exactly; see pixel-data.test.ts)
 * and the same pixel module and window (550/1024, MONOCHROME1, 10 bits stored).
 */
const CR_IDX = [129066, 387237, 645407, 903577, 1161748, 1419918, 1678088, 1936259, 2194429, 2452599, 2710770, 2968940];
const CASES: {
  file: string;
  dcmtk: string;
  options: PresentationOptions;
  voi: string;
  mean: number;
  idx: number[];
  ref: number[];
}[] = [
  {
    file: 'CT_small.dcm', // signed 16-bit, rescale -1024/1, no window in the file
    dcmtk: '+Wm',
    options: {},
    voi: 'min-max',
    mean: 24679.99,
    idx: [682, 2085, 3487, 4889, 6164, 7566, 8968, 10243, 11645, 13047, 14450, 15724],
    ref: [2668, 5368, 2636, 2382, 15661, 27986, 29225, 30083, 29797, 31608, 30242, 25699],
  },
  {
    file: 'CT_small.dcm',
    dcmtk: '+Ww 40 400',
    options: { windowCenter: 40, windowWidth: 400 },
    voi: 'override-window',
    mean: 26090.37,
    idx: [682, 2085, 3487, 4889, 6164, 7566, 8968, 10243, 11645, 13047, 14450, 15724],
    ref: [0, 0, 0, 0, 0, 23815, 30221, 34656, 33178, 42540, 35477, 11990],
  },
  {
    file: 'mlut_18.dcm', // Modality LUT Sequence: 4096 entries from -2048, 16 bits
    dcmtk: '+Wm',
    options: {},
    voi: 'min-max',
    mean: 33177.15,
    idx: [10922, 32805, 54687, 76569, 98452, 120334, 142216, 164099, 185981, 207863, 229746, 251628],
    ref: [32759, 0, 32759, 32759, 19652, 32759, 58974, 0, 32759, 32759, 32759, 65535],
  },
  {
    file: 'vlut_04.dcm', // VOI LUT Sequence: 256 entries from 0, 16 bits
    dcmtk: '+Wl 1',
    options: {},
    voi: 'voi-lut-sequence',
    mean: 33109.32,
    idx: [10922, 32805, 54687, 76569, 98452, 120334, 142216, 164099, 185981, 207863, 229746, 251628],
    ref: [32639, 0, 32639, 32639, 19532, 32639, 58853, 0, 32639, 32639, 32639, 65535],
  },
  {
    file: 'RG3_J2KI.dcm', // MONOCHROME1, 10 bits stored, window 550/1024
    dcmtk: '+Wi 1',
    options: {},
    voi: 'window',
    mean: 45617.26,
    idx: CR_IDX,
    ref: [4740, 65535, 25752, 20563, 65535, 64125, 41832, 65535, 65535, 38565, 65535, 65535],
  },
  {
    file: 'RG3_J2KI.dcm',
    dcmtk: '+Ww 300 200',
    options: { windowCenter: 300, windowWidth: 200 },
    voi: 'override-window',
    mean: 38034.67,
    idx: CR_IDX,
    ref: [0, 65535, 0, 0, 65535, 65535, 0, 65535, 65535, 0, 65535, 65535],
  },
  {
    file: 'MR_small_bigendian.dcm', // big endian, window 600/1600
    dcmtk: '+Wi 1',
    options: {},
    voi: 'window',
    mean: 29056.31,
    idx: [170, 549, 863, 1241, 1556, 1934, 2248, 2563, 2941, 3255, 3634, 3948],
    ref: [20492, 18976, 20000, 19303, 21435, 17992, 25451, 20082, 18361, 61354, 65535, 65535],
  },
];

const work = mkdtempSync(join(tmpdir(), 'greyscale-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** DCMTK's rendering: `dcm2pnm <options> +opw` (16-bit ASCII PGM), MONOCHROME1 shown inverted. */
function dcm2pnm(file: string, options: string[]): Uint16Array {
  const out = join(work, `${Math.random().toString(36).slice(2)}.pgm`);
  execFileSync('dcm2pnm', [...options, '+opw', file, out]);
  const [magic, width, height, max, ...values] = readFileSync(out, 'latin1').trim().split(/\s+/);
  expect([magic, max]).toEqual(['P2', '65535']);
  expect(values.length).toBe(Number(width) * Number(height));
  return Uint16Array.from(values, Number);
}

/** PS3.3 C.11.2.1.2.1 LINEAR, worked from its text (not from greyscale.ts): x → 0..65535. */
function linearWindow(center: number, width: number): (x: number) => number {
  return (x) => {
    if (x <= center - 0.5 - (width - 1) / 2) return 0;
    if (x > center - 0.5 + (width - 1) / 2) return 65535;
    return ((x - (center - 0.5)) / (width - 1) + 0.5) * 65535;
  };
}

/** What the pixels must be, from the stored values and the window or LUT the generator wrote. */
function expectedFromManifest(file: string, options: PresentationOptions): number[] | undefined {
  const image = corpusCase(file).image!;
  const stored = Array.from(corpusSourcePixels(file));
  const slope = image.rescale?.slope ?? 1;
  const intercept = image.rescale?.intercept ?? 0;
  const invert = image.photometric === 'MONOCHROME1' ? (y: number) => 65535 - y : (y: number) => y;
  if (options.windowCenter !== undefined && options.windowWidth !== undefined) {
    const f = linearWindow(options.windowCenter, options.windowWidth);
    return stored.map((sv) => invert(f(sv * slope + intercept)));
  }
  if (image.voiLut) {
    const { firstMapped, bits, data } = image.voiLut;
    const at = (x: number) => data[Math.min(data.length - 1, Math.max(0, x - firstMapped))]!;
    return stored.map((sv) => invert((at(sv * slope + intercept) / (2 ** bits - 1)) * 65535));
  }
  if (image.window) {
    const f = linearWindow(image.window.center, image.window.width);
    return stored.map((sv) => invert(f(sv * slope + intercept)));
  }
  return undefined; // min-max: DCMTK is the reference
}

const CORPUS_CASES: { file: string; dcmtk: string[]; options: PresentationOptions; voi: string }[] = [
  { file: 'ct-signed-rescale.dcm', dcmtk: ['+Wm'], options: {}, voi: 'min-max' },
  { file: 'ct-signed-rescale.dcm', dcmtk: ['+Ww', '40', '400'], options: { windowCenter: 40, windowWidth: 400 }, voi: 'override-window' },
  { file: 'ot-modality-lut-sequence.dcm', dcmtk: ['+Wm'], options: {}, voi: 'min-max' },
  { file: 'ot-voi-lut-sequence.dcm', dcmtk: ['+Wl', '1'], options: {}, voi: 'voi-lut-sequence' },
  { file: 'cr-monochrome1.dcm', dcmtk: ['+Wi', '1'], options: {}, voi: 'window' },
  { file: 'cr-monochrome1.dcm', dcmtk: ['+Ww', '300', '200'], options: { windowCenter: 300, windowWidth: 200 }, voi: 'override-window' },
  { file: 'mr-big-endian.dcm', dcmtk: ['+Wi', '1'], options: {}, voi: 'window' },
];

/** Largest absolute difference, and where. */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>): { diff: number; at: number } {
  let diff = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d > diff) [diff, at] = [d, i];
  }
  return { diff, at };
}

describe('toPresentation on the generated corpus', () => {
  test.each(CORPUS_CASES)('renders $file like `dcm2pnm $dcmtk`, every pixel within ±1 (VOI from $voi)', async ({ file, dcmtk, options, voi }) => {
    const instance = parseInstance(readCorpus(file));
    const image = toPresentation(await decodeFrameAsync(instance, 0), instance, options);
    expect(voiSourceOf(instance, options)).toBe(voi);
    const reference = dcm2pnm(corpusPath(file), dcmtk);
    expect(image.data.length).toBe(reference.length);
    expect(new Set(reference).size).toBeGreaterThan(16); // a real image, not a flat field
    expect(worst(image.data, reference).diff).toBeLessThanOrEqual(1);
  });

  test.each(CORPUS_CASES.filter((c) => c.voi !== 'min-max'))(
    'renders $file as PS3.3 gives from the stored values and the $voi the generator wrote, within ±1',
    async ({ file, options }) => {
      const instance = parseInstance(readCorpus(file));
      const image = toPresentation(await decodeFrameAsync(instance, 0), instance, options);
      const expected = expectedFromManifest(file, options)!;
      expect(worst(image.data, expected).diff).toBeLessThanOrEqual(1);
    },
  );

  test('renders the lossless JPEG 2000 copy of the CR exactly as the native one', async () => {
    const render = async (file: string) => {
      const instance = parseInstance(readCorpus(file));
      return toPresentation(await decodeFrameAsync(instance, 0), instance).data;
    };
    expect(Buffer.from((await render('cr-j2k-lossless.dcm')).buffer).equals(Buffer.from((await render('cr-monochrome1.dcm')).buffer))).toBe(true);
  });

  test('renders the colour JPEG as the Rec. 601 luma of its decoded RGB, close to the luma of the RGB written', async () => {
    const instance = parseInstance(readCorpus('sc-rgb-jpeg-baseline.dcm'));
    const frame = await decodeFrameAsync(instance, 0);
    const image = toPresentation(frame, instance);
    const luma = (rgb: ArrayLike<number>) =>
      Array.from({ length: rgb.length / 3 }, (_, i) => (0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!) * 257);
    expect(worst(image.data, luma(frame.data)).diff).toBeLessThanOrEqual(1);
    const { maxAbs } = corpusCase('sc-rgb-jpeg-baseline.dcm').image!.source!.tolerance!;
    expect(worst(image.data, luma(corpusSourcePixels('sc-rgb.dcm'))).diff).toBeLessThanOrEqual(maxAbs * 257);
  });

  test('rejects a window override with only one of centre and width', async () => {
    const instance = parseInstance(readCorpus('ct-signed-rescale.dcm'));
    const frame = await decodeFrameAsync(instance, 0);
    expect(() => toPresentation(frame, instance, { windowCenter: 40 })).toThrow(RangeError);
  });
});

describe.skipIf(!HAS_SHARED_SAMPLES)(`toPresentation on the shared samples ${NEEDS_SHARED}`, () => {
  test.each(CASES)('renders $file like `dcm2pnm $dcmtk` within ±1 (VOI from $voi)', async ({ file, options, voi, mean, idx, ref }) => {
    const instance = parseInstance(readSample(file));
    const image = toPresentation(await decodeFrameAsync(instance, 0), instance, options);
    expect(voiSourceOf(instance, options)).toBe(voi);
    expect(image.width * image.height).toBe(image.data.length);
    idx.forEach((i, k) => expect(Math.abs(image.data[i]! - ref[k]!), `pixel ${i}`).toBeLessThanOrEqual(1));
    const ourMean = image.data.reduce((s, v) => s + v, 0) / image.data.length;
    expect(Math.abs(ourMean - mean)).toBeLessThan(1);
  });

  test('renders the colour JPEG as its luma', async () => {
    const instance = parseInstance(readSample('SC_rgb_jpeg_dcmtk.dcm'));
    const image = toPresentation(await decodeFrameAsync(instance, 0), instance);
    // First pixel is RGB (254, 0, 0): luma 0.299 × 254 = 75.9 → 76 × 257.
    expect(image.data[0]).toBe(Math.round(0.299 * 254 * 257));
  });

  test('rejects a window override with only one of centre and width', async () => {
    const instance = parseInstance(readSample('CT_small.dcm'));
    const frame = await decodeFrameAsync(instance, 0);
    expect(() => toPresentation(frame, instance, { windowCenter: 40 })).toThrow(RangeError);
  });
});

describe('windowFunction (PS3.3 C.11.2.1.2, worked by hand)', () => {
  // LINEAR, c = 100, w = 21: below 100 - 0.5 - 10 = 89.5 → 0; above 109.5 → 1;
  // x = 99.5 → ((99.5 - 99.5) / 20 + 0.5) = 0.5; x = 104.5 → 0.75.
  test.each([
    [89.5, 0],
    [89.6, 0.005],
    [99.5, 0.5],
    [104.5, 0.75],
    [109.5, 1],
    [110, 1],
  ])('LINEAR 100/21 maps %d to %d', (x, y) => {
    expect(windowFunction(100, 21)(x)).toBeCloseTo(y, 9);
  });

  test('LINEAR_EXACT 100/20 maps 90 to 0, 95 to 0.25 and 110 to 1', () => {
    const f = windowFunction(100, 20, 'LINEAR_EXACT');
    expect([f(90), f(95), f(110)]).toEqual([0, 0.25, 1]);
  });

  test('SIGMOID maps the centre to one half', () => {
    expect(windowFunction(100, 20, 'SIGMOID')(100)).toBe(0.5);
  });
});

describe('storedValueReader', () => {
  const frame = (bitsStored: number, highBit: number, pixelRepresentation: number): DecodedFrame => ({
    rows: 1, columns: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored, highBit, pixelRepresentation,
    photometricInterpretation: 'MONOCHROME2', data: new Uint16Array(1),
  });

  test.each([
    // bits stored, high bit, pixel representation, container, stored value
    [12, 11, 0, 0xf123, 0x123], // bits above Bits Stored (e.g. an overlay in bit 15) are masked off
    [12, 11, 1, 0x0fff, -1], // 12-bit two's complement
    [12, 11, 1, 0x0800, -2048],
    [12, 11, 1, 0x07ff, 2047],
    [12, 15, 0, 0xabc0, 0xabc], // high bit 15: the value sits in the top 12 bits
    [16, 15, 1, -5, -5], // an Int16Array container gives negative numbers
    [10, 9, 0, 0x03ff, 1023],
  ])('bits stored %i, high bit %i, representation %i: container %i holds %i', (bs, hb, pr, container, expected) => {
    expect(storedValueReader(frame(bs, hb, pr))(container)).toBe(expected);
  });
});
