import { describe, expect, test } from 'vitest';
import { PduType, PresentationContextResult } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { decodeAssociateRq, decodePDataTf, encodeAssociateAc, encodeAssociateRj, encodeCommandPData } from './pdus.ts';
import { encodeAssociateRq } from './dcmtk.test-support.ts';

const rqBody = (): Buffer =>
  encodeAssociateRq({
    calledAeTitle: 'INGEST',
    callingAeTitle: 'MODALITY',
    contexts: [
      { id: 1, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
      { id: 3, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.1', transferSyntaxUids: ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.1'] },
    ],
    maxPduLength: 32768,
  }).subarray(6);

describe('association PDUs', () => {
  test('decodes the AE titles, contexts and maximum length of an A-ASSOCIATE-RQ', () => {
    const rq = decodeAssociateRq(rqBody());
    expect(rq).toMatchObject({
      protocolVersion: 1,
      calledAeTitle: 'INGEST',
      callingAeTitle: 'MODALITY',
      applicationContextName: '1.2.840.10008.3.1.1.1',
      maxPduLength: 32768,
      implementationClassUid: '1.2.3.4',
      presentationContexts: [
        { id: 1, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
        { id: 3, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.1', transferSyntaxUids: ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.1'] },
      ],
    });
  });

  test('refuses an A-ASSOCIATE-RQ whose item length runs past the PDU', () => {
    const body = rqBody();
    body.writeUInt16BE(0xffff, 68 + 2); // application context item length
    expect(() => decodeAssociateRq(body)).toThrow(DimseProtocolError);
  });

  test('refuses an A-ASSOCIATE-RQ shorter than its fixed fields', () => {
    expect(() => decodeAssociateRq(Buffer.alloc(67))).toThrow(/shorter than its fixed fields/);
  });

  test('echoes the AE title fields and answers every context in the A-ASSOCIATE-AC', () => {
    const rq = decodeAssociateRq(rqBody());
    const ac = encodeAssociateAc({
      rq,
      applicationContextName: '1.2.840.10008.3.1.1.1',
      presentationContexts: [
        { id: 1, result: PresentationContextResult.Acceptance, transferSyntaxUid: '1.2.840.10008.1.2' },
        { id: 3, result: PresentationContextResult.AbstractSyntaxNotSupported, transferSyntaxUid: '1.2.840.10008.1.2.4.90' },
      ],
      maxPduLength: 16384,
      implementationClassUid: '2.25.1',
      implementationVersionName: 'TEST',
    });
    expect(ac[0]).toBe(PduType.AssociateAc);
    expect(ac.readUInt32BE(2)).toBe(ac.length - 6);
    expect(ac.toString('latin1', 10, 26)).toBe('INGEST          ');
    expect(ac.toString('latin1', 26, 42)).toBe('MODALITY        ');
    // User information: maximum length sub-item (0x51) carries 16384.
    const at = ac.indexOf(Buffer.from([0x51, 0x00, 0x00, 0x04]));
    expect(ac.readUInt32BE(at + 4)).toBe(16384);
  });

  test('encodes an A-ASSOCIATE-RJ with result, source and reason', () => {
    // type 3, reserved, length 4, reserved, result 1 (permanent), source 1 (user), reason 7 (called AE)
    expect([...encodeAssociateRj(1, 1, 7)]).toEqual([3, 0, 0, 0, 0, 4, 0, 1, 1, 7]);
  });
});

describe('P-DATA-TF', () => {
  test('splits PDV items and reads their control bits', () => {
    const body = Buffer.concat([
      Buffer.from([0, 0, 0, 4, 1, 0x03, 0xaa, 0xbb]), // length 4, context 1, command+last, 2 bytes
      Buffer.from([0, 0, 0, 3, 3, 0x00, 0xcc]), // length 3, context 3, data set, not last, 1 byte
    ]);
    expect(decodePDataTf(body).map((p) => ({ ...p, data: Buffer.concat(p.data) }))).toEqual([
      { presentationContextId: 1, isCommand: true, isLast: true, data: Buffer.from([0xaa, 0xbb]), length: 2 },
      { presentationContextId: 3, isCommand: false, isLast: false, data: Buffer.from([0xcc]), length: 1 },
    ]);
  });

  test('decodes the same items when the body arrives in segments that split headers and data', () => {
    const body = Buffer.concat([
      Buffer.from([0, 0, 0, 6, 1, 0x03, 1, 2, 3, 4]), // length 6, context 1, command + last, 4 bytes
      Buffer.from([0, 0, 0, 5, 3, 0x02, 5, 6, 7]), // length 5, context 3, data set + last, 3 bytes
    ]);
    const whole = decodePDataTf(body).map((p) => ({ ...p, data: Buffer.concat(p.data) }));
    for (let cut1 = 1; cut1 < body.length - 1; cut1++) {
      for (let cut2 = cut1 + 1; cut2 < body.length; cut2++) {
        const segments = [body.subarray(0, cut1), body.subarray(cut1, cut2), body.subarray(cut2)];
        expect(decodePDataTf(segments).map((p) => ({ ...p, data: Buffer.concat(p.data) }))).toEqual(whole);
      }
    }
  });

  test('refuses an item that overruns its P-DATA-TF even when the body is in segments', () => {
    const body = Buffer.from([0, 0, 0, 9, 1, 3, 0, 0]);
    expect(() => decodePDataTf([body.subarray(0, 3), body.subarray(3)])).toThrow(/overruns/);
  });

  test.each([
    ['an item length below 2', Buffer.from([0, 0, 0, 1, 1, 3])],
    ['an item that overruns the PDU', Buffer.from([0, 0, 0, 9, 1, 3, 0])],
    ['a truncated item header', Buffer.from([0, 0, 0])],
    ['no item at all', Buffer.alloc(0)],
  ])('refuses %s', (_name, body) => {
    expect(() => decodePDataTf(body)).toThrow(DimseProtocolError);
  });

  test('fragments a command so no PDU exceeds the peer maximum', () => {
    const command = Buffer.alloc(100, 1);
    const pdus = encodeCommandPData(5, command, 46);
    expect(pdus).toHaveLength(3);
    for (const p of pdus) expect(p.readUInt32BE(2)).toBeLessThanOrEqual(46);
    const pdvs = pdus.flatMap((p) => decodePDataTf(p.subarray(6)));
    expect(pdvs.map((p) => p.isLast)).toEqual([false, false, true]);
    expect(Buffer.concat(pdvs.flatMap((p) => p.data)).equals(command)).toBe(true);
  });
});
