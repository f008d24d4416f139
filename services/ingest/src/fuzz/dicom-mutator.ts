/**
 * Seeded mutations of DICOM files for the fuzz run: the same seed gives the same files, so a
 * failure is replayed by its seed and index. Each mutated file first gets a SOP Instance UID of its
 * own (same length, written in place), so that what ingest accepts can be told apart and read back;
 * then one to three of: bit flips, random bytes, truncation, an element's length made huge, two
 * elements' tags swapped, a chunk repeated, a range zeroed.
 */

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Mutation = 'bit-flips' | 'random-bytes' | 'truncate' | 'huge-length' | 'tag-swap' | 'repeat-chunk' | 'zero-range';
export const MUTATIONS: readonly Mutation[] = Object.freeze(['bit-flips', 'random-bytes', 'truncate', 'huge-length', 'tag-swap', 'repeat-chunk', 'zero-range']);

/** Explicit VRs whose length field is 2 bytes, and those with 2 reserved bytes and a 4-byte length. */
const SHORT_VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'OV', 'SV', 'UV']);

const vrCode = (vr: string) => (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
/** 1 for a short VR's code, 2 for a long one's, by (first byte << 8 | second byte). */
const VR_KIND = new Uint8Array(65536);
for (const vr of SHORT_VRS) VR_KIND[vrCode(vr)] = 1;
for (const vr of LONG_VRS) VR_KIND[vrCode(vr)] = 2;

/** Offsets that look like explicit VR little endian element headers (even group, known VR). */
export function elementOffsets(bytes: Buffer, from = 132): number[] {
  const out: number[] = [];
  for (let i = from; i + 8 <= bytes.length; i++) {
    if ((bytes[i]! & 1) !== 0) continue;
    if (VR_KIND[(bytes[i + 4]! << 8) | bytes[i + 5]!] !== 0) out.push(i);
  }
  return out;
}

/**
 * Gives the file a SOP Instance UID of its own: the last component of `uid`, wherever the file
 * holds it (meta header and data set), is overwritten with digits from `unique`, same length.
 * Returns the new UID, or undefined when the UID's last component is too short to vary.
 */
export function withOwnInstanceUid(bytes: Buffer, uid: string, unique: number): string | undefined {
  const dot = uid.lastIndexOf('.');
  const tail = uid.length - dot - 1;
  if (dot < 0 || tail < 8) return undefined;
  const digits = String(unique).padStart(tail - 1, '0');
  if (digits.length > tail - 1) return undefined;
  const replacement = `${uid.slice(0, dot + 1)}9${digits}`;
  const from = Buffer.from(uid, 'latin1');
  const to = Buffer.from(replacement, 'latin1');
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + to.length)) to.copy(bytes, at);
  return replacement;
}

function intBelow(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** Applies one mutation in place or returns a new buffer (truncation, repetition). */
export function mutate(bytes: Buffer, kind: Mutation, random: () => number): Buffer {
  if (bytes.length === 0) return bytes;
  switch (kind) {
    case 'bit-flips': {
      const flips = 1 + intBelow(random, 16);
      for (let i = 0; i < flips; i++) {
        const at = intBelow(random, bytes.length);
        bytes[at] = bytes[at]! ^ (1 << intBelow(random, 8));
      }
      return bytes;
    }
    case 'random-bytes': {
      const at = intBelow(random, bytes.length);
      const n = Math.min(bytes.length - at, 1 + intBelow(random, 64));
      for (let i = 0; i < n; i++) bytes[at + i] = intBelow(random, 256);
      return bytes;
    }
    case 'truncate':
      return bytes.subarray(0, intBelow(random, bytes.length));
    case 'huge-length': {
      const offsets = elementOffsets(bytes);
      if (offsets.length === 0) return mutate(bytes, 'bit-flips', random);
      const at = offsets[intBelow(random, offsets.length)]!;
      const long = VR_KIND[(bytes[at + 4]! << 8) | bytes[at + 5]!] === 2;
      const huge = [0xffffffff, 0xfffffffe, 0x7fffffff, 0x40000000, bytes.length * 2][intBelow(random, 5)]!;
      if (long && at + 12 <= bytes.length) bytes.writeUInt32LE(huge >>> 0, at + 8);
      else bytes.writeUInt16LE([0xffff, 0xfffe, 0x8000][intBelow(random, 3)]!, at + 6);
      return bytes;
    }
    case 'tag-swap': {
      const offsets = elementOffsets(bytes);
      if (offsets.length < 2) return mutate(bytes, 'bit-flips', random);
      const a = offsets[intBelow(random, offsets.length)]!;
      const b = offsets[intBelow(random, offsets.length)]!;
      const tagA = Buffer.from(bytes.subarray(a, a + 4));
      bytes.copy(bytes, a, b, b + 4);
      tagA.copy(bytes, b);
      return bytes;
    }
    case 'repeat-chunk': {
      const at = intBelow(random, bytes.length);
      const n = Math.min(bytes.length - at, 1 + intBelow(random, 4096));
      return Buffer.concat([bytes.subarray(0, at + n), bytes.subarray(at, at + n), bytes.subarray(at + n)]);
    }
    case 'zero-range': {
      const at = intBelow(random, bytes.length);
      bytes.fill(0, at, Math.min(bytes.length, at + 1 + intBelow(random, 256)));
      return bytes;
    }
  }
}

export interface MutatedFile {
  bytes: Buffer;
  /** The SOP Instance UID written into it (before mutation), when it could have one of its own. */
  sopInstanceUid: string | undefined;
  mutations: Mutation[];
}

/** The `index`th mutated file of `seed`, from `source` (which is not changed). */
export function mutatedFile(source: Buffer, sopInstanceUid: string, seed: number, index: number): MutatedFile {
  const random = seededRandom((seed * 2654435761) ^ (index * 40503) ^ 0x9e3779b9);
  let bytes: Buffer = Buffer.from(source);
  const uid = withOwnInstanceUid(bytes, sopInstanceUid, index);
  const mutations: Mutation[] = [];
  const count = 1 + intBelow(random, 3);
  for (let i = 0; i < count; i++) {
    const kind = MUTATIONS[intBelow(random, MUTATIONS.length)]!;
    mutations.push(kind);
    bytes = mutate(bytes, kind, random);
  }
  return { bytes, sopInstanceUid: uid, mutations };
}
