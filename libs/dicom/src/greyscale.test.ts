import { describe, expect, test } from 'vitest';
import { toPresentation, storedValueReader, voiSourceOf, windowFunction, type PresentationOptions } from './greyscale.ts';
import { parseInstance } from './parse.ts';
import { decodeFrameAsync, type DecodedFrame } from './pixel-data.ts';
import { readSample } from './samples.test-support.ts';

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

describe('toPresentation', () => {
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
