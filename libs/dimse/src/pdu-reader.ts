/**
 * Splits a TCP byte stream into upper-layer PDUs (PS3.8 §9.3.1: type, reserved, 32-bit length).
 *
 * Bounded memory: the declared length is checked against a per-type limit as soon as the 6-byte
 * header is in, before any body is buffered, so an absurd length aborts instead of being waited
 * for. Chunks are kept in a list. A P-DATA-TF body is handed over as views of the chunks it
 * arrived in, never joined: a large data set is copied once, when the whole instance is assembled
 * (joining each 128 KiB PDU first cost an allocation and a copy per PDU, ~10% of a large
 * instance's C-STORE time). Other PDUs are small and are joined (no copy when one chunk holds it).
 */
import { AbortReason, PduType, type PduTypeValue } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';

export type Pdu =
  | {
      type: typeof PduType.PDataTf;
      /** The PDU after its 6-byte header, as views of the received chunks, in order. */
      segments: Buffer[];
      /** Total length of the segments. */
      length: number;
    }
  | {
      type: Exclude<PduTypeValue, typeof PduType.PDataTf>;
      /** The PDU after its 6-byte header. */
      body: Buffer;
    };

export const PDU_HEADER_LENGTH = 6;

/** Release and abort PDUs have a fixed 4-byte body (PS3.8 §9.3.6–9.3.8). */
const FIXED_BODY_LENGTH = 4;

export interface PduLimits {
  /** Largest P-DATA-TF body we accept: the maximum length we advertised. */
  maxPDataLength: number;
  /** Largest A-ASSOCIATE-RQ body we accept. */
  maxAssociateRqLength: number;
}

export class PduReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private header: { type: PduTypeValue; length: number } | undefined;

  constructor(private readonly limits: PduLimits) {}

  /** Bytes held waiting for the rest of a PDU. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the PDUs they complete. Throws DimseProtocolError on a bad header. */
  push(chunk: Buffer): Pdu[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const pdus: Pdu[] = [];
    for (;;) {
      if (this.header === undefined) {
        if (this.buffered < PDU_HEADER_LENGTH) break;
        const head = this.peek(PDU_HEADER_LENGTH);
        this.header = this.checkHeader(head.readUInt8(0), head.readUInt32BE(2));
      }
      const { type, length } = this.header;
      if (this.buffered < PDU_HEADER_LENGTH + length) break;
      this.skip(PDU_HEADER_LENGTH);
      const segments = this.takeSegments(length);
      if (type === PduType.PDataTf) pdus.push({ type, segments, length });
      else pdus.push({ type, body: segments.length === 1 ? segments[0]! : Buffer.concat(segments, length) });
      this.header = undefined;
    }
    return pdus;
  }

  private checkHeader(type: number, length: number): { type: PduTypeValue; length: number } {
    switch (type) {
      case PduType.AssociateRq:
        if (length > this.limits.maxAssociateRqLength) {
          throw new DimseProtocolError(`A-ASSOCIATE-RQ length ${length} exceeds ${this.limits.maxAssociateRqLength}`);
        }
        break;
      case PduType.PDataTf:
        if (length > this.limits.maxPDataLength) {
          throw new DimseProtocolError(`P-DATA-TF length ${length} exceeds the negotiated maximum ${this.limits.maxPDataLength}`);
        }
        break;
      case PduType.ReleaseRq:
      case PduType.ReleaseRp:
      case PduType.Abort:
        if (length !== FIXED_BODY_LENGTH) throw new DimseProtocolError(`PDU type ${type} has length ${length}, expected 4`);
        break;
      case PduType.AssociateAc:
      case PduType.AssociateRj:
        // We are only ever the acceptor: these are never legal towards us, whatever their length.
        throw new DimseProtocolError(`unexpected PDU type ${type} sent to an acceptor`, AbortReason.UnexpectedPdu);
      default:
        throw new DimseProtocolError(`unrecognized PDU type 0x${type.toString(16).padStart(2, '0')}`, AbortReason.UnrecognizedPdu);
    }
    return { type, length };
  }

  /** The first n buffered bytes, without consuming them (n is small: the header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  /** Drops the first n buffered bytes (n <= buffered). */
  private skip(n: number): void {
    this.takeSegments(n);
  }

  /** Removes the first n buffered bytes (n <= buffered) and returns them as views, without copying. */
  private takeSegments(n: number): Buffer[] {
    const segments: Buffer[] = [];
    let needed = n;
    while (needed > 0) {
      const head = this.chunks[0]!;
      if (head.length <= needed) {
        segments.push(head);
        this.chunks.shift();
        needed -= head.length;
      } else {
        segments.push(head.subarray(0, needed));
        this.chunks[0] = head.subarray(needed);
        needed = 0;
      }
    }
    this.buffered -= n;
    return segments;
  }
}
