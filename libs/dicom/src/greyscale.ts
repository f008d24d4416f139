/**
 * The grey-scale standard display pipeline (PS3.3 C.11, PS3.4 N.2): stored values → Modality
 * LUT → VOI LUT → polarity, giving what a MONOCHROME2 display would show, as 16-bit values where
 * 0 is black and 65535 white (bright = dense on a radiograph).
 *
 * For stored values of up to 16 bits, the whole pipeline is evaluated once per possible stored
 * value into a table, then applied per pixel: a 1760² CR costs one table lookup per pixel.
 */
import type { DataSet, Element } from 'dicom-parser';
import { PixelDataError } from './errors.ts';
import { dataSetOf, type ParsedInstance } from './parse.ts';
import type { DecodedFrame } from './pixel-data.ts';
import { Tag } from './tags.ts';

export interface PresentationOptions {
  /** Override the window (both needed); takes precedence over the file's VOI LUT and windows. */
  windowCenter?: number;
  windowWidth?: number;
  /** VOI LUT Function for the window: the file's (0028,1056) by default, else LINEAR. */
  voiLutFunction?: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  /** Use which of the file's windows (0-based; default 0) when no override is given. */
  windowIndex?: number;
}

export interface PresentationImage {
  width: number;
  height: number;
  /** Row by row; 0 black … 65535 white as a MONOCHROME2 display shows it. */
  data: Uint16Array;
}

/** What the pipeline used, for callers that want to show or log it (no patient data). */
export type VoiSource = 'override-window' | 'voi-lut-sequence' | 'window' | 'min-max';

interface Lut {
  firstMapped: number;
  data: Float64Array;
  /** Largest value an entry can hold: 2^bits - 1. */
  maxValue: number;
}

const OUTPUT_MAX = 65535;

/** Present a decoded grey frame. Colour (RGB) frames become their Rec. 601 luma, without VOI. */
export function toPresentation(frame: DecodedFrame, instance: ParsedInstance, options: PresentationOptions = {}): PresentationImage {
  const { rows, columns } = frame;
  if (frame.samplesPerPixel === 3) return lumaOf(frame);
  if (frame.photometricInterpretation !== 'MONOCHROME1' && frame.photometricInterpretation !== 'MONOCHROME2') {
    throw new PixelDataError('not_greyscale', `cannot present ${frame.photometricInterpretation} as grey scale`);
  }
  const dataSet = dataSetOf(instance);
  const pipeline = buildPipeline(frame, dataSet, options);
  const out = new Uint16Array(rows * columns);
  const { data } = frame;
  if (frame.bitsStored <= 16) {
    // Table over every stored value: index = stored value - minimum stored value.
    const { minStored, maxStored } = storedRange(frame);
    const table = new Uint16Array(maxStored - minStored + 1);
    for (let sv = minStored; sv <= maxStored; sv++) table[sv - minStored] = pipeline.present(sv);
    const toStored = storedValueReader(frame);
    for (let i = 0; i < out.length; i++) out[i] = table[toStored(data[i]!) - minStored]!;
  } else {
    const toStored = storedValueReader(frame);
    for (let i = 0; i < out.length; i++) out[i] = pipeline.present(toStored(data[i]!));
  }
  return { width: columns, height: rows, data: out };
}

/** Which VOI step toPresentation would use for this frame. */
export function voiSourceOf(instance: ParsedInstance, options: PresentationOptions = {}): VoiSource {
  if (options.windowCenter !== undefined && options.windowWidth !== undefined) return 'override-window';
  const dataSet = dataSetOf(instance);
  if (readLutFromSequence(dataSet, Tag.VoiLutSequence)) return 'voi-lut-sequence';
  if (readWindow(dataSet, options.windowIndex ?? 0)) return 'window';
  return 'min-max';
}

// ---------------------------------------------------------------------------------------------

/** Stored value of a container value: shift down to High Bit, mask to Bits Stored, sign-extend. */
export function storedValueReader(frame: DecodedFrame): (container: number) => number {
  const { bitsStored, highBit, pixelRepresentation } = frame;
  const shift = highBit - bitsStored + 1;
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const range = 2 ** bitsStored;
  return (container: number) => {
    // Unsigned container bits first (a signed typed array gives negative numbers).
    const bits = Math.floor((container >>> 0) / 2 ** shift) % (mask + 1);
    return pixelRepresentation === 1 && bits >= signBit ? bits - range : bits;
  };
}

function storedRange(frame: DecodedFrame): { minStored: number; maxStored: number } {
  return frame.pixelRepresentation === 1
    ? { minStored: -(2 ** (frame.bitsStored - 1)), maxStored: 2 ** (frame.bitsStored - 1) - 1 }
    : { minStored: 0, maxStored: 2 ** frame.bitsStored - 1 };
}

interface Pipeline {
  present(storedValue: number): number;
}

function buildPipeline(frame: DecodedFrame, dataSet: DataSet, options: PresentationOptions): Pipeline {
  const modality = modalityTransform(dataSet);
  const voi = voiTransform(frame, dataSet, options, modality);
  const invert = frame.photometricInterpretation === 'MONOCHROME1';
  return {
    present(storedValue: number): number {
      let y = voi(modality(storedValue)); // 0..1, 1 = brightest for MONOCHROME2 input
      if (invert) y = 1 - y;
      return Math.round(Math.min(1, Math.max(0, y)) * OUTPUT_MAX);
    },
  };
}

/** Modality LUT Sequence (first item) if present, else Rescale Slope/Intercept (default 1, 0). */
function modalityTransform(dataSet: DataSet): (storedValue: number) => number {
  const lut = readLutFromSequence(dataSet, Tag.ModalityLutSequence);
  if (lut) return (sv) => lookUp(lut, sv);
  const slope = finiteOr(dataSet.floatString(Tag.RescaleSlope), 1);
  const intercept = finiteOr(dataSet.floatString(Tag.RescaleIntercept), 0);
  return (sv) => sv * slope + intercept;
}

function voiTransform(
  frame: DecodedFrame,
  dataSet: DataSet,
  options: PresentationOptions,
  modality: (sv: number) => number,
): (value: number) => number {
  const fn = options.voiLutFunction ?? readVoiLutFunction(dataSet);
  if (options.windowCenter !== undefined && options.windowWidth !== undefined) {
    return windowFunction(options.windowCenter, options.windowWidth, fn);
  }
  if (options.windowCenter !== undefined || options.windowWidth !== undefined) {
    throw new RangeError('windowCenter and windowWidth must be given together');
  }
  const lut = readLutFromSequence(dataSet, Tag.VoiLutSequence);
  if (lut) return (value) => lookUp(lut, Math.round(value)) / lut.maxValue;
  const window = readWindow(dataSet, options.windowIndex ?? 0);
  if (window) return windowFunction(window.center, window.width, fn);
  // No VOI in the file: stretch the modality values present in this frame to full range.
  const { min, max } = modalityRange(frame, modality);
  return max > min ? (value) => (value - min) / (max - min) : () => 0;
}

/**
 * The VOI window functions of PS3.3 C.11.2.1.2 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT) and
 * C.11.2.1.3.1 (SIGMOID), returning 0..1 instead of ymin..ymax.
 */
export function windowFunction(center: number, width: number, fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID' = 'LINEAR'): (x: number) => number {
  if (!Number.isFinite(center) || !Number.isFinite(width)) throw new RangeError('window centre and width must be finite');
  switch (fn) {
    case 'SIGMOID':
      if (width <= 0) throw new RangeError('a SIGMOID window needs a width above 0');
      return (x) => 1 / (1 + Math.exp((-4 * (x - center)) / width));
    case 'LINEAR_EXACT':
      if (width <= 0) throw new RangeError('a LINEAR_EXACT window needs a width above 0');
      return (x) => (x <= center - width / 2 ? 0 : x > center + width / 2 ? 1 : (x - center) / width + 0.5);
    default: {
      if (width < 1) throw new RangeError('a LINEAR window needs a width of at least 1');
      const low = center - 0.5 - (width - 1) / 2;
      const high = center - 0.5 + (width - 1) / 2;
      // Width 1 is a threshold at the centre (the linear part has no extent).
      if (width === 1) return (x) => (x <= low ? 0 : 1);
      return (x) => (x <= low ? 0 : x > high ? 1 : (x - (center - 0.5)) / (width - 1) + 0.5);
    }
  }
}

function modalityRange(frame: DecodedFrame, modality: (sv: number) => number): { min: number; max: number } {
  const toStored = storedValueReader(frame);
  let minSv = Infinity;
  let maxSv = -Infinity;
  const seen = new Set<number>();
  for (const container of frame.data) {
    const sv = toStored(container);
    if (sv < minSv) minSv = sv;
    if (sv > maxSv) maxSv = sv;
    if (seen.size < 70_000) seen.add(sv);
  }
  // A LUT may not be monotonic: take the range over the values present.
  let min = Infinity;
  let max = -Infinity;
  const values = seen.size < 70_000 ? seen : new Set([minSv, maxSv]);
  for (const sv of values) {
    const m = modality(sv);
    if (m < min) min = m;
    if (m > max) max = m;
  }
  return { min, max };
}

function readWindow(dataSet: DataSet, index: number): { center: number; width: number } | undefined {
  const center = dataSet.floatString(Tag.WindowCenter, index);
  const width = dataSet.floatString(Tag.WindowWidth, index);
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width) || width < 1) {
    return undefined;
  }
  return { center, width };
}

function readVoiLutFunction(dataSet: DataSet): 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID' {
  const value = dataSet.string(Tag.VoiLutFunction)?.toUpperCase();
  return value === 'LINEAR_EXACT' || value === 'SIGMOID' ? value : 'LINEAR';
}

/**
 * First item of a Modality or VOI LUT Sequence (PS3.3 C.11.1, C.11.2): LUT Descriptor
 * (entries, first mapped value, bits per entry) and LUT Data. 0 entries means 65536. The first
 * mapped value is read as signed when its unsigned reading exceeds 32767 and the data set's
 * pixels are signed (the descriptor's VR is US or SS depending on the pixel representation).
 */
function readLutFromSequence(dataSet: DataSet, sequenceTag: string): Lut | undefined {
  const item = dataSet.elements[sequenceTag]?.items?.[0]?.dataSet;
  if (!item) return undefined;
  const descriptor = item.elements[Tag.LutDescriptor];
  const lutData = item.elements[Tag.LutData];
  if (!descriptor || !lutData || descriptor.length < 6) return undefined;
  const entries = item.uint16(Tag.LutDescriptor, 0) || 65536;
  let firstMapped = item.uint16(Tag.LutDescriptor, 1) ?? 0;
  const bits = item.uint16(Tag.LutDescriptor, 2) ?? 16;
  if (firstMapped > 32767 && dataSet.uint16(Tag.PixelRepresentation) === 1) firstMapped -= 65536;
  if (bits < 1 || bits > 16) {
    throw new PixelDataError('invalid_lut', 'LUT Descriptor (0028,3002) gives bits per entry outside 1..16');
  }
  const data = readLutData(item, lutData, entries);
  return { firstMapped, data, maxValue: 2 ** bits - 1 };
}

function readLutData(item: DataSet, element: Element, entries: number): Float64Array {
  const out = new Float64Array(entries);
  if (element.length >= entries * 2) {
    for (let i = 0; i < entries; i++) out[i] = item.uint16(Tag.LutData, i) ?? 0;
  } else if (element.length >= entries) {
    // 8-bit entries packed into bytes (allowed for OW LUT Data with 8 bits per entry).
    for (let i = 0; i < entries; i++) out[i] = item.byteArray[element.dataOffset + i]!;
  } else {
    throw new PixelDataError('invalid_lut', 'LUT Data (0028,3006) is shorter than its descriptor says');
  }
  return out;
}

function lookUp(lut: Lut, value: number): number {
  const index = Math.round(value) - lut.firstMapped;
  return lut.data[index < 0 ? 0 : index >= lut.data.length ? lut.data.length - 1 : index]!;
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

function lumaOf(frame: DecodedFrame): PresentationImage {
  const pixels = frame.rows * frame.columns;
  const out = new Uint16Array(pixels);
  const scale = OUTPUT_MAX / (2 ** Math.min(frame.bitsAllocated, 16) - 1);
  const { data } = frame;
  for (let i = 0; i < pixels; i++) {
    const y = 0.299 * data[3 * i]! + 0.587 * data[3 * i + 1]! + 0.114 * data[3 * i + 2]!;
    out[i] = Math.min(OUTPUT_MAX, Math.round(y * scale));
  }
  return { width: frame.columns, height: frame.rows, data: out };
}
