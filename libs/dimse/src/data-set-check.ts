/**
 * Checks a C-STORE data set against what was negotiated and commanded, before it is stored
 * (PS3.4 §B.2.3, PS3.7 §9.1.1): the stored file's meta information is ours (negotiated
 * transfer syntax, the command's UIDs), so the data set must not bring its own.
 *
 * Refused:
 * - a whole Part 10 file (preamble + "DICM") sent as the data set: 0xC000;
 * - any element of group 0002 (file meta information) or 0000 (command) in the data set: 0xC000.
 *   Refused rather than stripped: the data set is stored exactly as received, and a parser
 *   reading a second (0002,0010) would take it as the file's transfer syntax;
 * - a SOP Class UID (0008,0016) or SOP Instance UID (0008,0018) other than the command's
 *   Affected SOP Class / Instance UID: 0xA900; missing ones: 0xC000;
 * - an element or item whose length runs past the data set, an item tag outside a sequence,
 *   a malformed explicit VR, nesting deeper than 32: 0xC000.
 *
 * The walk reads tags and lengths only (values are skipped, except the two UIDs), in the
 * negotiated transfer syntax: implicit VR LE, explicit VR BE, or explicit VR LE (every other
 * standard syntax). A deflated data set is inflated for its first bytes only: the group 0002
 * and UID checks run on those, the rest is the application's parser's (it inflates with limits).
 */
import zlib from 'node:zlib';
import { DimseStatus } from './dimse-constants.ts';

export interface DataSetRefusal {
  status: number;
  /** Error Comment (0000,0902) for the sender: at most 64 characters, never data set contents. */
  errorComment: string;
}

export interface ExpectedUids {
  sopClassUid: string;
  sopInstanceUid: string;
}

const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';
const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;
const MAX_DEPTH = 32;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
/** How much of the start of a data set the early check looks at. */
export const HEAD_BYTES = 64 * 1024;

const cannotUnderstand = (errorComment: string): DataSetRefusal => ({ status: DimseStatus.CannotUnderstand, errorComment });
const mismatch = (errorComment: string): DataSetRefusal => ({ status: DimseStatus.DataSetDoesNotMatchSopClass, errorComment });

type Outcome = { kind: 'refuse'; refusal: DataSetRefusal } | { kind: 'need-more' } | { kind: 'done'; uids: Partial<ExpectedUids> };

class Refused extends Error {
  constructor(readonly refusal: DataSetRefusal) {
    super(refusal.errorComment);
  }
}
class NeedMore extends Error {}

interface Syntax {
  explicit: boolean;
  little: boolean;
}

function syntaxOf(transferSyntaxUid: string): Syntax {
  if (transferSyntaxUid === IMPLICIT_VR_LE) return { explicit: false, little: true };
  if (transferSyntaxUid === EXPLICIT_VR_BE) return { explicit: true, little: false };
  return { explicit: true, little: true };
}

/** Walks the elements of `b`; `upToUids` stops at the first top-level tag past (0008,0018). */
class Walker {
  private pos = 0;
  readonly uids: Partial<ExpectedUids> = {};

  constructor(
    private readonly b: Buffer,
    private syntax: Syntax,
    private readonly complete: boolean,
    private readonly upToUids: boolean,
  ) {}

  run(): Outcome {
    try {
      this.elements(0, undefined);
      return { kind: 'done', uids: this.uids };
    } catch (error) {
      if (error instanceof Refused) return { kind: 'refuse', refusal: error.refusal };
      if (error instanceof NeedMore) return { kind: 'need-more' };
      throw error;
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.b.length) {
      if (this.complete) throw new Refused(cannotUnderstand('Data set truncated: an element runs past its end'));
      throw new NeedMore();
    }
  }

  private u16(at: number): number {
    return this.syntax.little ? this.b.readUInt16LE(at) : this.b.readUInt16BE(at);
  }

  private u32(at: number): number {
    return this.syntax.little ? this.b.readUInt32LE(at) : this.b.readUInt32BE(at);
  }

  private tagAt(at: number): number {
    return ((this.u16(at) << 16) | this.u16(at + 2)) >>> 0;
  }

  /** Elements until the end (depth 0), an item's end (`itemEnd`), or an item delimiter. */
  private elements(depth: number, itemEnd: number | undefined): void {
    if (depth > MAX_DEPTH) throw new Refused(cannotUnderstand('Data set nested deeper than 32 sequences'));
    for (;;) {
      if (itemEnd !== undefined && this.pos === itemEnd) return;
      if (itemEnd !== undefined && this.pos > itemEnd) throw new Refused(cannotUnderstand('Element runs past the end of its item'));
      if (depth === 0 && this.pos === this.b.length) {
        if (this.complete) return;
        throw new NeedMore();
      }
      this.need(8);
      const tag = this.tagAt(this.pos);
      const group = tag >>> 16;
      if (tag === ITEM_DELIMITATION && depth > 0 && itemEnd === undefined) {
        this.pos += 8;
        return;
      }
      if (group === 0xfffe) throw new Refused(cannotUnderstand('Item tag outside a sequence'));
      if (depth === 0) {
        if (group === 0x0002) throw new Refused(cannotUnderstand('Data set holds file meta information (group 0002)'));
        if (group === 0x0000) throw new Refused(cannotUnderstand('Data set holds command elements (group 0000)'));
        if (this.upToUids && tag > SOP_INSTANCE_UID) return;
      }
      const { vr, length, headerLength } = this.header();
      const valueAt = this.pos + headerLength;
      this.pos = valueAt;
      if (length === UNDEFINED_LENGTH) {
        if (vr === 'UN') {
          // PS3.5 §6.2.2: an undefined-length UN is a sequence encoded in implicit VR LE.
          const outer = this.syntax;
          this.syntax = { explicit: false, little: true };
          this.sequence(depth + 1, false);
          this.syntax = outer;
        } else {
          // Implicit VR: only sequences have undefined lengths. Explicit: SQ, or encapsulated
          // pixel data (OB), whose items are opaque fragments.
          this.sequence(depth + 1, vr !== undefined && vr !== 'SQ');
        }
        continue;
      }
      if (depth === 0 && (tag === SOP_CLASS_UID || tag === SOP_INSTANCE_UID)) {
        this.need(length);
        const value = this.b.toString('latin1', valueAt, valueAt + length).replace(/[\0 ]+$/, '');
        if (tag === SOP_CLASS_UID) this.uids.sopClassUid = value;
        else this.uids.sopInstanceUid = value;
      }
      this.skip(length);
    }
  }

  private header(): { vr: string | undefined; length: number; headerLength: number } {
    if (!this.syntax.explicit) return { vr: undefined, length: this.u32(this.pos + 4), headerLength: 8 };
    const vr = this.b.toString('latin1', this.pos + 4, this.pos + 6);
    if (!/^[A-Z]{2}$/.test(vr)) throw new Refused(cannotUnderstand('Malformed value representation in the data set'));
    if (LONG_VRS.has(vr)) {
      this.need(12);
      return { vr, length: this.u32(this.pos + 8), headerLength: 12 };
    }
    return { vr, length: this.u16(this.pos + 6), headerLength: 8 };
  }

  /** Items (always tag + 32-bit length, whatever the syntax) until the sequence delimiter; `opaque` items are skipped. */
  private sequence(depth: number, opaque: boolean): void {
    if (depth > MAX_DEPTH) throw new Refused(cannotUnderstand('Data set nested deeper than 32 sequences'));
    for (;;) {
      this.need(8);
      const tag = this.tagAt(this.pos);
      const length = this.u32(this.pos + 4);
      this.pos += 8;
      if (tag === SEQUENCE_DELIMITATION) return;
      if (tag !== ITEM) throw new Refused(cannotUnderstand('Sequence holds something other than items'));
      if (length === UNDEFINED_LENGTH) {
        if (opaque) throw new Refused(cannotUnderstand('Encapsulated fragment of undefined length'));
        this.elements(depth, undefined);
      } else {
        const end = this.pos + length;
        if (opaque || end > this.b.length) {
          // An encapsulated fragment or item we need not look inside: its length is checked.
          this.skip(length);
          continue;
        }
        this.elements(depth, end);
      }
    }
  }

  private skip(length: number): void {
    this.need(length);
    this.pos += length;
  }
}

function verdictOn(uids: Partial<ExpectedUids>, expected: ExpectedUids): DataSetRefusal | undefined {
  if (uids.sopClassUid === undefined) return cannotUnderstand('Data set has no SOP Class UID (0008,0016)');
  if (uids.sopInstanceUid === undefined) return cannotUnderstand('Data set has no SOP Instance UID (0008,0018)');
  if (uids.sopClassUid !== expected.sopClassUid) return mismatch('SOP Class UID differs from Affected SOP Class UID');
  if (uids.sopInstanceUid !== expected.sopInstanceUid) return mismatch('SOP Instance UID differs from Affected SOP Instance UID');
  return undefined;
}

function part10Prefix(head: Buffer): DataSetRefusal | undefined {
  if (head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM') {
    return cannotUnderstand('A Part 10 file (preamble, DICM) was sent as the data set');
  }
  return undefined;
}

function inflatedHead(head: Buffer): Buffer | undefined {
  try {
    // The first bytes of a stream that goes on: flush what they decode to. 16 MiB bounds a bomb.
    const out = zlib.inflateRawSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 16 * 1024 * 1024 });
    return out.subarray(0, HEAD_BYTES);
  } catch {
    return undefined;
  }
}

/**
 * The early check, on the first bytes of the data set (up to HEAD_BYTES; `complete` when that is
 * all of it): a refusal, 'ok' when the UIDs are in and match, or undefined when these bytes
 * cannot tell (the full check at the end decides).
 */
export function checkDataSetHead(head: Buffer, transferSyntaxUid: string, expected: ExpectedUids, complete: boolean): DataSetRefusal | 'ok' | undefined {
  let bytes = head;
  let whole = complete;
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) {
    const inflated = inflatedHead(head);
    if (inflated === undefined) return complete ? cannotUnderstand('Deflated data set cannot be inflated') : undefined;
    bytes = inflated;
    whole = false; // the application's parser sees the rest
  }
  const prefix = part10Prefix(bytes);
  if (prefix) return prefix;
  const outcome = new Walker(bytes, syntaxOf(transferSyntaxUid), whole, true).run();
  if (outcome.kind === 'refuse') return outcome.refusal;
  if (outcome.kind === 'need-more') return undefined;
  return verdictOn(outcome.uids, expected) ?? 'ok';
}

/** The full check, on the complete data set: a refusal, or undefined when it may be stored. */
export function checkDataSet(dataSet: Buffer, transferSyntaxUid: string, expected: ExpectedUids): DataSetRefusal | undefined {
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) {
    const head = checkDataSetHead(dataSet.subarray(0, HEAD_BYTES), transferSyntaxUid, expected, dataSet.length <= HEAD_BYTES);
    if (head === undefined) return cannotUnderstand('Deflated data set: no SOP UIDs in its first bytes');
    return head === 'ok' ? undefined : head;
  }
  const prefix = part10Prefix(dataSet);
  if (prefix) return prefix;
  const outcome = new Walker(dataSet, syntaxOf(transferSyntaxUid), true, false).run();
  if (outcome.kind === 'refuse') return outcome.refusal;
  if (outcome.kind === 'need-more') return cannotUnderstand('Data set truncated');
  return verdictOn(outcome.uids, expected);
}
