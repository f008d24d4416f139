/**
 * A small explicit VR little endian data set writer.
 *
 * Deliberately minimal: it encodes the elements it is given, in ascending tag order, with each
 * value padded to even length the way its VR requires (UI with NUL, text with space, OB with NUL).
 * Sequences are written with defined lengths (simplest to read back, valid per PS3.5 §7.5).
 * It never re-encodes someone else's data set; it is for objects this project creates.
 */
import { DicomError } from './errors.ts';
import { tagNumbers } from './tags.ts';

/** Value representations this writer can encode. */
export type Vr =
  | 'AE' | 'AS' | 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'FL' | 'IS' | 'LO' | 'LT' | 'OB' | 'OD'
  | 'OF' | 'OL' | 'OW' | 'PN' | 'SH' | 'SL' | 'SQ' | 'SS' | 'ST' | 'TM' | 'UC' | 'UI' | 'UL' | 'UN'
  | 'UR' | 'US' | 'UT';

export type ElementValue =
  | string
  | readonly string[]
  | number
  | readonly number[]
  | Uint8Array
  | Uint16Array
  | readonly (readonly DataElement[])[];

export interface DataElement {
  /** Tag in 'xGGGGEEEE' form (use the `Tag` constants). */
  readonly tag: string;
  readonly vr: Vr;
  /** Strings for text VRs (arrays join with '\\'), numbers for binary and DS/IS, items for SQ. */
  readonly value: ElementValue;
}

/** A value this writer cannot encode validly (reason 'invalid_value'). */
export class DicomWriteError extends DicomError {
  override name = 'DicomWriteError';
  constructor(message: string) {
    super('invalid_value', message);
  }
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 §7.1.2). */
const LONG_LENGTH_VRS = new Set<Vr>(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const TEXT_VRS = new Set<Vr>([
  'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT',
]);
/** Maximum value lengths (bytes, per value) for the text VRs that have one (PS3.5 Table 6.2-1). */
const MAX_TEXT_LENGTH: Partial<Record<Vr, number>> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, LT: 10240, PN: 64 * 5, SH: 16,
  ST: 1024, TM: 14, UI: 64,
};

/** Format a number as a DS value (at most 16 characters). */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new DicomWriteError(`DS value is not finite: ${value}`);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  for (let precision = 15; precision >= 1; precision--) {
    let text = value.toPrecision(precision);
    // toPrecision may give "1.50000" or "1.5e-7"; trim trailing zeros in the mantissa.
    text = text.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
    if (text.length <= 16) return text;
  }
  throw new DicomWriteError(`cannot format ${value} as DS`);
}

function encodeText(vr: Vr, value: ElementValue, tag: string): Buffer {
  let values: string[];
  if (typeof value === 'string') values = [value];
  else if (typeof value === 'number') values = [String(value)];
  else if (Array.isArray(value)) values = (value as readonly (string | number)[]).map((v) => String(v));
  else throw new DicomWriteError(`${tag} ${vr}: expected a string value`);
  if (vr === 'DS' && typeof value !== 'string') {
    values = (Array.isArray(value) ? (value as number[]) : [value as number]).map(formatDecimalString);
  }
  if (vr === 'IS' && typeof value !== 'string') {
    for (const v of values) {
      if (!/^-?\d+$/.test(v)) throw new DicomWriteError(`${tag} IS: not an integer: ${v}`);
    }
  }
  const max = MAX_TEXT_LENGTH[vr];
  for (const v of values) {
    if (max !== undefined && Buffer.byteLength(v, 'latin1') > max) {
      throw new DicomWriteError(`${tag} ${vr}: value longer than ${max} characters`);
    }
    if (vr !== 'LT' && vr !== 'ST' && vr !== 'UT' && v.includes('\\')) {
      throw new DicomWriteError(`${tag} ${vr}: value contains a backslash`);
    }
  }
  const text = values.join('\\');
  // Everything we write is ISO-IR 6 / Latin-1 compatible; refuse what is not.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) throw new DicomWriteError(`${tag} ${vr}: non-Latin-1 character`);
  }
  let bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 1) bytes = Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  return bytes;
}

function numbersOf(value: ElementValue, tag: string, vr: Vr): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value as number[];
  throw new DicomWriteError(`${tag} ${vr}: expected numeric value(s)`);
}

function encodeBinary(vr: Vr, value: ElementValue, tag: string): Buffer {
  if (vr === 'OB' || vr === 'UN') {
    if (!(value instanceof Uint8Array)) throw new DicomWriteError(`${tag} ${vr}: expected bytes`);
    const padded = Buffer.alloc(value.length + (value.length % 2));
    padded.set(value);
    return padded;
  }
  if (vr === 'OW') {
    const words = value instanceof Uint16Array ? value : null;
    if (words) {
      const out = Buffer.alloc(words.length * 2);
      for (let i = 0; i < words.length; i++) out.writeUInt16LE(words[i]!, i * 2);
      return out;
    }
    if (value instanceof Uint8Array && value.length % 2 === 0) return Buffer.from(value);
    throw new DicomWriteError(`${tag} OW: expected a Uint16Array`);
  }
  const nums = numbersOf(value, tag, vr);
  const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, AT: 4, OF: 4, OD: 8, OL: 4 }[vr as string];
  if (size === undefined) throw new DicomWriteError(`${tag}: unsupported VR ${vr}`);
  const out = Buffer.alloc(nums.length * size);
  nums.forEach((n, i) => {
    const at = i * size;
    switch (vr) {
      case 'US': out.writeUInt16LE(n, at); break;
      case 'SS': out.writeInt16LE(n, at); break;
      case 'UL': case 'OL': out.writeUInt32LE(n, at); break;
      case 'SL': out.writeInt32LE(n, at); break;
      case 'FL': case 'OF': out.writeFloatLE(n, at); break;
      case 'FD': case 'OD': out.writeDoubleLE(n, at); break;
      case 'AT': out.writeUInt16LE(n >>> 16, at); out.writeUInt16LE(n & 0xffff, at + 2); break;
      default: break;
    }
  });
  return out;
}

function encodeSequence(value: ElementValue, tag: string): Buffer {
  if (!Array.isArray(value)) throw new DicomWriteError(`${tag} SQ: expected an array of items`);
  const parts: Buffer[] = [];
  for (const item of value as readonly (readonly DataElement[])[]) {
    const body = encodeDataSet(item);
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0xfffe, 0);
    header.writeUInt16LE(0xe000, 2);
    header.writeUInt32LE(body.length, 4);
    parts.push(header, body);
  }
  return Buffer.concat(parts);
}

/** Encode one element (tag, VR, length, value) in explicit VR little endian. */
export function encodeElement(element: DataElement): Buffer {
  const { tag, vr, value } = element;
  const { group, element: elem } = tagNumbers(tag);
  const body =
    vr === 'SQ' ? encodeSequence(value, tag) : TEXT_VRS.has(vr) ? encodeText(vr, value, tag) : encodeBinary(vr, value, tag);
  const long = LONG_LENGTH_VRS.has(vr);
  if (!long && body.length > 0xffff) throw new DicomWriteError(`${tag} ${vr}: value too long`);
  if (body.length > 0xfffffffe) throw new DicomWriteError(`${tag} ${vr}: value too long`);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elem, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(body.length, 8);
  else header.writeUInt16LE(body.length, 6);
  return Buffer.concat([header, body]);
}

/** Encode a data set: elements sorted by tag; a duplicated tag is an error. */
export function encodeDataSet(elements: readonly DataElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.tag === sorted[i - 1]!.tag) throw new DicomWriteError(`duplicate element ${sorted[i]!.tag}`);
  }
  return Buffer.concat(sorted.map(encodeElement));
}

function itemHeader(group: number, element: number, length: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(length, 4);
  return header;
}

/**
 * Encapsulated Pixel Data (PS3.5 §A.4): (7FE0,0010) OB with undefined length, a Basic Offset
 * Table item (empty unless `basicOffsetTable`), one item per fragment (padded to even length with
 * a NUL, which codecs ignore after their end marker), then a Sequence Delimitation Item.
 * `frames[i]` lists the fragments of frame i.
 */
export function encodeEncapsulatedPixelData(
  frames: readonly (readonly Uint8Array[])[],
  options: { basicOffsetTable?: boolean } = {},
): Buffer {
  const items: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const fragments of frames) {
    if (fragments.length === 0) throw new DicomWriteError('a frame needs at least one fragment');
    offsets.push(offset);
    for (const fragment of fragments) {
      const padded = Buffer.alloc(fragment.length + (fragment.length % 2));
      padded.set(fragment);
      items.push(itemHeader(0xfffe, 0xe000, padded.length), padded);
      offset += 8 + padded.length;
    }
  }
  if (offset > 0xfffffffe) throw new DicomWriteError('encapsulated pixel data is too long for a 32-bit offset table');
  const table = Buffer.alloc(options.basicOffsetTable ? offsets.length * 4 : 0);
  if (options.basicOffsetTable) offsets.forEach((o, i) => table.writeUInt32LE(o, i * 4));
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  header.write('OB', 4, 'latin1');
  header.writeUInt32LE(0xffffffff, 8);
  return Buffer.concat([header, itemHeader(0xfffe, 0xe000, table.length), table, ...items, itemHeader(0xfffe, 0xe0dd, 0)]);
}
