/**
 * DIMSE command sets (PS3.7 §6.3, §E.1): group 0000 elements, always Implicit VR Little Endian,
 * whatever transfer syntax the presentation context negotiated for data sets.
 */
import { DimseProtocolError } from './dimse-errors.ts';

/** Element numbers of group 0000 we read or write. */
export const CommandTag = Object.freeze({
  CommandGroupLength: 0x0000, // (0000,0000) UL
  AffectedSopClassUid: 0x0002, // (0000,0002) UI
  CommandField: 0x0100, // (0000,0100) US
  MessageId: 0x0110, // (0000,0110) US
  MessageIdBeingRespondedTo: 0x0120, // (0000,0120) US
  Priority: 0x0700, // (0000,0700) US
  CommandDataSetType: 0x0800, // (0000,0800) US
  Status: 0x0900, // (0000,0900) US
  ErrorComment: 0x0902, // (0000,0902) LO
  AffectedSopInstanceUid: 0x1000, // (0000,1000) UI
  MoveOriginatorApplicationEntityTitle: 0x1030, // (0000,1030) AE
  MoveOriginatorMessageId: 0x1031, // (0000,1031) US
} as const);

export interface CommandSet {
  commandField: number;
  messageId?: number;
  commandDataSetType: number;
  affectedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  priority?: number;
}

const US_TAGS = new Set<number>([
  CommandTag.CommandField,
  CommandTag.MessageId,
  CommandTag.MessageIdBeingRespondedTo,
  CommandTag.Priority,
  CommandTag.CommandDataSetType,
  CommandTag.Status,
  CommandTag.MoveOriginatorMessageId,
]);

function readText(value: Buffer): string {
  return value.toString('latin1').replace(/[\0 ]+$/, '');
}

export function decodeCommandSet(bytes: Buffer): CommandSet {
  const values = new Map<number, Buffer>();
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 8) throw new DimseProtocolError('truncated command element header');
    const group = bytes.readUInt16LE(offset);
    const element = bytes.readUInt16LE(offset + 2);
    const length = bytes.readUInt32LE(offset + 4);
    if (group !== 0x0000) throw new DimseProtocolError(`command set holds an element of group ${group.toString(16)}`);
    if (length > bytes.length - offset - 8) throw new DimseProtocolError(`command element (0000,${element.toString(16)}) overruns the command set`);
    const value = bytes.subarray(offset + 8, offset + 8 + length);
    if (US_TAGS.has(element) && length !== 2) throw new DimseProtocolError(`command element (0000,${element.toString(16)}) is not a US`);
    values.set(element, value);
    offset += 8 + length;
  }
  const us = (tag: number): number | undefined => values.get(tag)?.readUInt16LE(0);
  const ui = (tag: number): string | undefined => {
    const v = values.get(tag);
    return v === undefined ? undefined : readText(v);
  };
  const commandField = us(CommandTag.CommandField);
  if (commandField === undefined) throw new DimseProtocolError('command set without Command Field (0000,0100)');
  const commandDataSetType = us(CommandTag.CommandDataSetType);
  if (commandDataSetType === undefined) throw new DimseProtocolError('command set without Command Data Set Type (0000,0800)');
  const command: CommandSet = { commandField, commandDataSetType };
  const messageId = us(CommandTag.MessageId);
  if (messageId !== undefined) command.messageId = messageId;
  const priority = us(CommandTag.Priority);
  if (priority !== undefined) command.priority = priority;
  const affectedSopClassUid = ui(CommandTag.AffectedSopClassUid);
  if (affectedSopClassUid !== undefined) command.affectedSopClassUid = affectedSopClassUid;
  const affectedSopInstanceUid = ui(CommandTag.AffectedSopInstanceUid);
  if (affectedSopInstanceUid !== undefined) command.affectedSopInstanceUid = affectedSopInstanceUid;
  return command;
}

type CommandValue = { vr: 'US'; value: number } | { vr: 'UI' | 'LO' | 'AE'; value: string };

function encodeElement(element: number, v: CommandValue): Buffer {
  let value: Buffer;
  if (v.vr === 'US') {
    value = Buffer.alloc(2);
    value.writeUInt16LE(v.value, 0);
  } else {
    value = Buffer.from(v.value, 'latin1');
    // Even length: UI pads with NUL, text VRs with a space (PS3.5 §6.2).
    if (value.length % 2 === 1) value = Buffer.concat([value, Buffer.from([v.vr === 'UI' ? 0x00 : 0x20])]);
  }
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0x0000, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

/** Encodes elements (any order given) ascending, preceded by the group length (0000,0000). */
export function encodeCommandSet(elements: ReadonlyMap<number, CommandValue>): Buffer {
  const body = Buffer.concat(
    [...elements.entries()].sort(([a], [b]) => a - b).map(([element, v]) => encodeElement(element, v)),
  );
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt16LE(0x0000, 0);
  groupLength.writeUInt16LE(CommandTag.CommandGroupLength, 2);
  groupLength.writeUInt32LE(4, 4);
  groupLength.writeUInt32LE(body.length, 8);
  return Buffer.concat([groupLength, body]);
}

/** A response (C-ECHO-RSP, C-STORE-RSP, or a failure answer to another request); no data set. */
export function encodeResponse(params: {
  commandField: number;
  messageIdBeingRespondedTo: number;
  status: number;
  affectedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  errorComment?: string;
}): Buffer {
  const elements = new Map<number, CommandValue>([
    [CommandTag.CommandField, { vr: 'US', value: params.commandField }],
    [CommandTag.MessageIdBeingRespondedTo, { vr: 'US', value: params.messageIdBeingRespondedTo }],
    [CommandTag.CommandDataSetType, { vr: 'US', value: 0x0101 }],
    [CommandTag.Status, { vr: 'US', value: params.status }],
  ]);
  if (params.affectedSopClassUid !== undefined) elements.set(CommandTag.AffectedSopClassUid, { vr: 'UI', value: params.affectedSopClassUid });
  if (params.affectedSopInstanceUid !== undefined) elements.set(CommandTag.AffectedSopInstanceUid, { vr: 'UI', value: params.affectedSopInstanceUid });
  if (params.errorComment !== undefined) elements.set(CommandTag.ErrorComment, { vr: 'LO', value: params.errorComment.slice(0, 64) });
  return encodeCommandSet(elements);
}

/** A request command set; used by tests acting as a minimal SCU. */
export function encodeRequest(params: {
  commandField: number;
  messageId: number;
  affectedSopClassUid: string;
  affectedSopInstanceUid?: string;
  hasDataSet: boolean;
}): Buffer {
  const elements = new Map<number, CommandValue>([
    [CommandTag.AffectedSopClassUid, { vr: 'UI', value: params.affectedSopClassUid }],
    [CommandTag.CommandField, { vr: 'US', value: params.commandField }],
    [CommandTag.MessageId, { vr: 'US', value: params.messageId }],
    [CommandTag.CommandDataSetType, { vr: 'US', value: params.hasDataSet ? 0x0000 : 0x0101 }],
  ]);
  if (params.affectedSopInstanceUid !== undefined) {
    elements.set(CommandTag.AffectedSopInstanceUid, { vr: 'UI', value: params.affectedSopInstanceUid });
    elements.set(CommandTag.Priority, { vr: 'US', value: 0 });
  }
  return encodeCommandSet(elements);
}
