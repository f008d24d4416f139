import { describe, expect, test } from 'vitest';
import { CommandField, NO_DATA_SET } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { encodeRequest } from './dimse-messages.ts';
import { MessageAssembler, type DataSetSink } from './message-assembly.ts';
import type { Pdv } from './pdus.ts';
import { negotiatePresentationContexts } from './presentation-policy.ts';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const [context] = negotiatePresentationContexts([{ id: 1, abstractSyntaxUid: CT, transferSyntaxUids: ['1.2.840.10008.1.2.1'] }]);

function pdv(data: Buffer, isCommand: boolean, isLast: boolean, presentationContextId = 1): Pdv {
  return { presentationContextId, isCommand, isLast, data: [data], length: data.length };
}

function storeCommand(): Buffer {
  return encodeRequest({ commandField: CommandField.CStoreRq, messageId: 7, affectedSopClassUid: CT, affectedSopInstanceUid: '1.2.3', hasDataSet: true });
}

function assembler(maxDataSetBytes = 1024, seen: Buffer[] = []) {
  return new MessageAssembler<DataSetSink>({
    contexts: new Map([[1, context!]]),
    maxDataSetBytes,
    sinkFor: () => ({ update: (fragment) => seen.push(fragment) }),
  });
}

describe('MessageAssembler', () => {
  test('joins a command set split in two with its data set in two fragments, and the sink sees each fragment', () => {
    const seen: Buffer[] = [];
    const a = assembler(1024, seen);
    const command = storeCommand();
    expect(a.push(pdv(command.subarray(0, 10), true, false))).toBeUndefined();
    expect(a.push(pdv(command.subarray(10), true, true))).toBeUndefined();
    expect(a.inProgress).toBe(true);
    expect(a.push(pdv(Buffer.from('abc'), false, false))).toBeUndefined();
    const message = a.push(pdv(Buffer.from('de'), false, true));
    expect(message?.command.affectedSopInstanceUid).toBe('1.2.3');
    expect(Buffer.concat(message!.dataChunks).toString()).toBe('abcde');
    expect(message?.dataBytes).toBe(5);
    expect(message?.oversize).toBe(false);
    expect(Buffer.concat(seen).toString()).toBe('abcde');
    expect(a.inProgress).toBe(false);
  });

  test('completes a command without a data set at its last command fragment', () => {
    const command = encodeRequest({ commandField: CommandField.CEchoRq, messageId: 1, affectedSopClassUid: '1.2.840.10008.1.1', hasDataSet: false });
    const message = assembler().push(pdv(command, true, true));
    expect(message?.command.commandDataSetType).toBe(NO_DATA_SET);
  });

  test('drops a data set over the limit but still completes the message, marked oversize and without its sink', () => {
    const a = assembler(4);
    a.push(pdv(storeCommand(), true, true));
    a.push(pdv(Buffer.from('abc'), false, false));
    const message = a.push(pdv(Buffer.from('def'), false, true));
    expect(message?.oversize).toBe(true);
    expect(message?.dataChunks).toEqual([]);
    expect(message?.dataBytes).toBe(6);
    expect(message?.sink).toBeUndefined();
  });

  test.each([
    ['a data set fragment where a command was expected', [pdv(Buffer.from('x'), false, true)]],
    ['a command on a presentation context that was not accepted', [pdv(storeCommand(), true, true, 3)]],
    ['a command fragment inside a data set', [pdv(storeCommand(), true, true), pdv(Buffer.from('x'), true, true)]],
    ['a data set fragment on another presentation context', [pdv(storeCommand(), true, true), pdv(Buffer.from('x'), false, true, 3)]],
  ])('refuses %s as a protocol error', (_what, pdvs) => {
    const a = assembler();
    expect(() => pdvs.forEach((p) => a.push(p))).toThrow(DimseProtocolError);
  });

  test('refuses a command set longer than 64 KiB', () => {
    const a = assembler();
    const chunk = Buffer.alloc(32 * 1024);
    a.push(pdv(chunk, true, false));
    a.push(pdv(chunk, true, false));
    expect(() => a.push(pdv(Buffer.alloc(1), true, false))).toThrow(/64 KiB/);
  });

  test('reserves data set bytes in the budget, refuses the message with 0xA700 the moment it would exceed it, and releases what it held', () => {
    let reserved = 0;
    const budget = {
      tryReserve: (n: number) => (reserved + n > 100 ? false : ((reserved += n), true)),
      release: (n: number) => void (reserved -= n),
    };
    const a = new MessageAssembler<DataSetSink>({ contexts: new Map([[1, context!]]), maxDataSetBytes: 1024, sinkFor: () => ({ update: () => undefined }), budget });
    a.push(pdv(storeCommand(), true, true));
    a.push(pdv(Buffer.alloc(60), false, false));
    expect(reserved).toBe(60);
    a.push(pdv(Buffer.alloc(60), false, false));
    expect(reserved).toBe(0);
    const refused = a.push(pdv(Buffer.alloc(10), false, true));
    expect(refused?.refusal).toEqual({ status: 0xa700, errorComment: 'Out of resources: receive memory full, retry later' });
    expect(refused?.dataChunks).toEqual([]);
    a.push(pdv(storeCommand(), true, true));
    const kept = a.push(pdv(Buffer.alloc(50), false, true));
    expect(kept?.refusal).toBeUndefined();
    expect(reserved).toBe(50);
    a.releaseMessage(kept!);
    expect(reserved).toBe(0);
  });

  test('releases the reservation of a message discarded half-way', () => {
    let reserved = 0;
    const budget = { tryReserve: (n: number) => ((reserved += n), true), release: (n: number) => void (reserved -= n) };
    const a = new MessageAssembler<DataSetSink>({ contexts: new Map([[1, context!]]), maxDataSetBytes: 1024, sinkFor: () => ({ update: () => undefined }), budget });
    a.push(pdv(storeCommand(), true, true));
    a.push(pdv(Buffer.alloc(70), false, false));
    expect(reserved).toBe(70);
    a.discard();
    expect(reserved).toBe(0);
  });
});
