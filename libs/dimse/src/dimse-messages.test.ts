import { describe, expect, test } from 'vitest';
import { CommandField } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { decodeCommandSet, encodeRequest, encodeResponse } from './dimse-messages.ts';

describe('DIMSE command sets', () => {
  test('encodes a C-ECHO-RSP in implicit VR little endian with its group length', () => {
    const bytes = encodeResponse({ commandField: CommandField.CEchoRsp, messageIdBeingRespondedTo: 7, status: 0, affectedSopClassUid: '1.2.840.10008.1.1' });
    expect([...bytes]).toEqual([
      ...[0x00, 0x00, 0x00, 0x00, 4, 0, 0, 0, 66, 0, 0, 0], // (0000,0000) UL 66
      ...[0x00, 0x00, 0x02, 0x00, 18, 0, 0, 0], ...Buffer.from('1.2.840.10008.1.1\0'), // (0000,0002) UI, NUL-padded
      ...[0x00, 0x00, 0x00, 0x01, 2, 0, 0, 0, 0x30, 0x80], // (0000,0100) US 0x8030
      ...[0x00, 0x00, 0x20, 0x01, 2, 0, 0, 0, 7, 0], // (0000,0120) US 7
      ...[0x00, 0x00, 0x00, 0x08, 2, 0, 0, 0, 0x01, 0x01], // (0000,0800) US 0x0101
      ...[0x00, 0x00, 0x00, 0x09, 2, 0, 0, 0, 0, 0], // (0000,0900) US 0
    ]);
  });

  test('reads back a C-STORE-RQ', () => {
    const bytes = encodeRequest({ commandField: CommandField.CStoreRq, messageId: 3, affectedSopClassUid: '1.2.840.10008.5.1.4.1.1.1', affectedSopInstanceUid: '1.2.3', hasDataSet: true });
    expect(decodeCommandSet(bytes)).toEqual({
      commandField: CommandField.CStoreRq,
      messageId: 3,
      commandDataSetType: 0,
      priority: 0,
      affectedSopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      affectedSopInstanceUid: '1.2.3',
    });
  });

  test('truncates the error comment to the 64 characters LO allows', () => {
    const bytes = encodeResponse({ commandField: CommandField.CStoreRsp, messageIdBeingRespondedTo: 1, status: 0xa700, errorComment: 'x'.repeat(100) });
    expect(bytes.includes(Buffer.from('x'.repeat(64)))).toBe(true);
    expect(bytes.includes(Buffer.from('x'.repeat(65)))).toBe(false);
  });

  test.each([
    ['an element outside group 0000', Buffer.from([0x08, 0x00, 0x18, 0x00, 0, 0, 0, 0])],
    ['an element that overruns the command set', Buffer.from([0, 0, 0x00, 0x01, 0xff, 0, 0, 0, 1, 0])],
    ['a Command Field that is not 2 bytes', Buffer.from([0, 0, 0x00, 0x01, 4, 0, 0, 0, 1, 0, 0, 0])],
    ['no Command Field', Buffer.from([0, 0, 0x00, 0x08, 2, 0, 0, 0, 1, 1])],
    ['a truncated element header', Buffer.from([0, 0, 0x00])],
  ])('refuses a command set with %s', (_name, bytes) => {
    expect(() => decodeCommandSet(bytes)).toThrow(DimseProtocolError);
  });
});
