/**
 * Splits a TCP byte stream into upper-layer PDUs (PS3.8 §9.3.1: type, reserved, 32-bit length).
 *
 * Bounded memory: the declared length is checked against a per-type limit as soon as the 6-byte
 * header is in, before any body is buffered, so an absurd length aborts instead of being waited
 * for. Chunks are kept in a list and joined once per PDU (no copy when one chunk holds it all).
 */
import { AbortReason, PduType, type PduTypeValue } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';

export interface Pdu {
  type: PduTypeValue;
  /** The PDU after its 6-byte header. */
  body: Buffer;
}

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
      const total = PDU_HEADER_LENGTH + this.header.length;
      if (this.buffered < total) break;
      const whole = this.take(total);
      pdus.push({ type: this.header.type, body: whole.subarray(PDU_HEADER_LENGTH) });
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

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let needed = n;
    while (needed > 0) {
      const head = this.chunks[0]!;
      if (head.length <= needed) {
        parts.push(head);
        this.chunks.shift();
        needed -= head.length;
      } else {
        parts.push(head.subarray(0, needed));
        this.chunks[0] = head.subarray(needed);
        needed = 0;
      }
    }
    this.buffered -= n;
    return Buffer.concat(parts, n);
  }
}
