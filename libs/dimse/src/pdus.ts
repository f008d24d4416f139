/**
 * Decoding and encoding of the PDUs an association acceptor meets (PS3.8 §9.3). Every length
 * read from the wire is checked against what is left before it is used; a violation throws
 * DimseProtocolError, which the association answers with A-ABORT.
 */
import {
  AbortSource,
  ItemType,
  PduType,
  PdvFlag,
  type PresentationContextResult,
} from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';

export interface ProposedPresentationContext {
  id: number;
  abstractSyntaxUid: string;
  transferSyntaxUids: string[];
}

export interface AssociateRq {
  protocolVersion: number;
  /** Trimmed AE titles. */
  calledAeTitle: string;
  callingAeTitle: string;
  /** The 16-byte fields as received, echoed back in the A-ASSOCIATE-AC (PS3.8 §9.3.3). */
  rawCalledAeTitle: Buffer;
  rawCallingAeTitle: Buffer;
  applicationContextName: string;
  presentationContexts: ProposedPresentationContext[];
  /** 0 = no limit (PS3.8 §D.1). */
  maxPduLength: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
}

/** A-ASSOCIATE-RQ fixed part: version(2) reserved(2) called(16) calling(16) reserved(32). */
const ASSOCIATE_FIXED_LENGTH = 68;
const ITEM_HEADER_LENGTH = 4;

/** UI and AE values are padded with NUL or spaces. */
function readText(buffer: Buffer): string {
  return buffer.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

interface Item {
  type: number;
  value: Buffer;
}

/** Splits a run of items (type, reserved, 16-bit length, value) with strict bounds. */
function readItems(buffer: Buffer, where: string): Item[] {
  const items: Item[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < ITEM_HEADER_LENGTH) {
      throw new DimseProtocolError(`truncated item header in ${where}`);
    }
    const type = buffer.readUInt8(offset);
    const length = buffer.readUInt16BE(offset + 2);
    const start = offset + ITEM_HEADER_LENGTH;
    if (start + length > buffer.length) {
      throw new DimseProtocolError(`item 0x${type.toString(16)} in ${where} overruns its container`);
    }
    items.push({ type, value: buffer.subarray(start, start + length) });
    offset = start + length;
  }
  return items;
}

export function decodeAssociateRq(body: Buffer): AssociateRq {
  if (body.length < ASSOCIATE_FIXED_LENGTH) throw new DimseProtocolError('A-ASSOCIATE-RQ shorter than its fixed fields');
  const rawCalledAeTitle = Buffer.from(body.subarray(4, 20));
  const rawCallingAeTitle = Buffer.from(body.subarray(20, 36));
  const rq: AssociateRq = {
    protocolVersion: body.readUInt16BE(0),
    calledAeTitle: readText(rawCalledAeTitle),
    callingAeTitle: readText(rawCallingAeTitle),
    rawCalledAeTitle,
    rawCallingAeTitle,
    applicationContextName: '',
    presentationContexts: [],
    maxPduLength: 0,
  };
  let sawApplicationContext = false;
  for (const item of readItems(body.subarray(ASSOCIATE_FIXED_LENGTH), 'A-ASSOCIATE-RQ')) {
    switch (item.type) {
      case ItemType.ApplicationContext:
        rq.applicationContextName = readText(item.value);
        sawApplicationContext = true;
        break;
      case ItemType.PresentationContextRq:
        rq.presentationContexts.push(decodePresentationContext(item.value));
        break;
      case ItemType.UserInformation:
        decodeUserInformation(item.value, rq);
        break;
      default:
        // PS3.8 §9.3.2: unknown items are ignored.
        break;
    }
  }
  if (!sawApplicationContext) throw new DimseProtocolError('A-ASSOCIATE-RQ has no application context item');
  return rq;
}

function decodePresentationContext(value: Buffer): ProposedPresentationContext {
  if (value.length < 4) throw new DimseProtocolError('presentation context item too short');
  const id = value.readUInt8(0);
  let abstractSyntaxUid: string | undefined;
  const transferSyntaxUids: string[] = [];
  for (const sub of readItems(value.subarray(4), 'presentation context')) {
    if (sub.type === ItemType.AbstractSyntax) abstractSyntaxUid = readText(sub.value);
    else if (sub.type === ItemType.TransferSyntax) transferSyntaxUids.push(readText(sub.value));
  }
  if (abstractSyntaxUid === undefined) throw new DimseProtocolError(`presentation context ${id} has no abstract syntax`);
  return { id, abstractSyntaxUid, transferSyntaxUids };
}

function decodeUserInformation(value: Buffer, rq: AssociateRq): void {
  for (const sub of readItems(value, 'user information')) {
    if (sub.type === ItemType.MaximumLength) {
      if (sub.value.length !== 4) throw new DimseProtocolError('maximum length item is not 4 bytes');
      rq.maxPduLength = sub.value.readUInt32BE(0);
    } else if (sub.type === ItemType.ImplementationClassUid) {
      rq.implementationClassUid = readText(sub.value);
    } else if (sub.type === ItemType.ImplementationVersionName) {
      rq.implementationVersionName = readText(sub.value);
    }
    // Asynchronous operations window, role selection, extended negotiation and user identity are
    // not answered: their absence in our AC means the defaults (one operation at a time, SCU/SCP
    // roles as usual, no extended negotiation, no identity confirmation).
  }
}

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function item(type: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new RangeError(`item 0x${type.toString(16)} too long`);
  const header = Buffer.alloc(ITEM_HEADER_LENGTH);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}

function uidValue(uid: string): Buffer {
  // Upper-layer UIDs are not padded (PS3.8 §9.3.2.1 note: no trailing NUL required).
  return Buffer.from(uid, 'latin1');
}

export interface AcceptedPresentationContext {
  id: number;
  result: (typeof PresentationContextResult)[keyof typeof PresentationContextResult];
  /** For an accepted context, the chosen syntax; for a rejected one, ignored by the peer. */
  transferSyntaxUid: string;
}

export function encodeAssociateAc(params: {
  rq: AssociateRq;
  applicationContextName: string;
  presentationContexts: AcceptedPresentationContext[];
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string;
}): Buffer {
  const fixed = Buffer.alloc(ASSOCIATE_FIXED_LENGTH);
  fixed.writeUInt16BE(0x0001, 0);
  params.rq.rawCalledAeTitle.copy(fixed, 4);
  params.rq.rawCallingAeTitle.copy(fixed, 20);
  const parts: Buffer[] = [fixed, item(ItemType.ApplicationContext, uidValue(params.applicationContextName))];
  for (const pc of params.presentationContexts) {
    const head = Buffer.from([pc.id, 0, pc.result, 0]);
    parts.push(item(ItemType.PresentationContextAc, Buffer.concat([head, item(ItemType.TransferSyntax, uidValue(pc.transferSyntaxUid))])));
  }
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(params.maxPduLength, 0);
  parts.push(
    item(
      ItemType.UserInformation,
      Buffer.concat([
        item(ItemType.MaximumLength, maxLength),
        item(ItemType.ImplementationClassUid, uidValue(params.implementationClassUid)),
        item(ItemType.ImplementationVersionName, Buffer.from(params.implementationVersionName, 'latin1')),
      ]),
    ),
  );
  return pdu(PduType.AssociateAc, Buffer.concat(parts));
}

export function encodeAssociateRj(result: number, source: number, reason: number): Buffer {
  return pdu(PduType.AssociateRj, Buffer.from([0, result, source, reason]));
}

export function encodeReleaseRp(): Buffer {
  return pdu(PduType.ReleaseRp, Buffer.alloc(4));
}

export function encodeAbort(reason: number, source: number = AbortSource.ServiceProvider): Buffer {
  return pdu(PduType.Abort, Buffer.from([0, 0, source, reason]));
}

export interface Pdv {
  presentationContextId: number;
  isCommand: boolean;
  isLast: boolean;
  /** The fragment, as views of the P-DATA-TF body's segments (never copied). */
  data: Buffer[];
  /** Total length of `data`. */
  length: number;
}

const PDV_HEADER_LENGTH = 6;

/**
 * Splits a P-DATA-TF body into its PDV items (PS3.8 §9.3.5). The body may come in several
 * segments (the chunks it arrived in, see pdu-reader.ts); an item or its header may straddle
 * them. Each item's data are views of the segments, not copies.
 */
export function decodePDataTf(body: Buffer | readonly Buffer[]): Pdv[] {
  const segments = Buffer.isBuffer(body) ? [body] : body;
  const total = segments.reduce((sum, s) => sum + s.length, 0);
  const pdvs: Pdv[] = [];
  let index = 0; // current segment
  let within = 0; // offset within it
  let remaining = total;
  /** The next n bytes as views, advancing past them. */
  const take = (n: number): Buffer[] => {
    const out: Buffer[] = [];
    let needed = n;
    while (needed > 0) {
      const segment = segments[index]!;
      const available = segment.length - within;
      if (available === 0) {
        index += 1;
        within = 0;
        continue;
      }
      const step = Math.min(available, needed);
      out.push(segment.subarray(within, within + step));
      within += step;
      needed -= step;
    }
    remaining -= n;
    return out;
  };
  while (remaining > 0) {
    if (remaining < PDV_HEADER_LENGTH) throw new DimseProtocolError('truncated PDV item header');
    const headerParts = take(PDV_HEADER_LENGTH);
    const header = headerParts.length === 1 ? headerParts[0]! : Buffer.concat(headerParts, PDV_HEADER_LENGTH);
    const length = header.readUInt32BE(0);
    if (length < 2) throw new DimseProtocolError(`PDV item length ${length} is below 2`);
    if (length - 2 > remaining) throw new DimseProtocolError('PDV item overruns its P-DATA-TF');
    const control = header.readUInt8(5);
    pdvs.push({
      presentationContextId: header.readUInt8(4),
      isCommand: (control & PdvFlag.Command) !== 0,
      isLast: (control & PdvFlag.Last) !== 0,
      data: take(length - 2),
      length: length - 2,
    });
  }
  if (pdvs.length === 0) throw new DimseProtocolError('P-DATA-TF without PDV items');
  return pdvs;
}

/**
 * P-DATA-TF PDUs carrying one command set, fragmented so that no PDU body exceeds the peer's
 * maximum length (0 = unlimited).
 */
export function encodeCommandPData(presentationContextId: number, command: Buffer, peerMaxPduLength: number): Buffer[] {
  // Each PDU body = PDV header (4 length + 1 id + 1 control) + fragment.
  const maxFragment = peerMaxPduLength === 0 ? command.length : Math.max(1, peerMaxPduLength - 6);
  const pdus: Buffer[] = [];
  let offset = 0;
  do {
    const fragment = command.subarray(offset, offset + maxFragment);
    offset += fragment.length;
    const header = Buffer.alloc(6);
    header.writeUInt32BE(fragment.length + 2, 0);
    header.writeUInt8(presentationContextId, 4);
    header.writeUInt8(PdvFlag.Command | (offset >= command.length ? PdvFlag.Last : 0), 5);
    pdus.push(pdu(PduType.PDataTf, Buffer.concat([header, fragment])));
  } while (offset < command.length);
  return pdus;
}
