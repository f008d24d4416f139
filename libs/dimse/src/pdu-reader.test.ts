import { describe, expect, test } from 'vitest';
import { PduType } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { PduReader } from './pdu-reader.ts';

const limits = { maxPDataLength: 16384, maxAssociateRqLength: 65536 };

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0); // PDU type
  header.writeUInt32BE(body.length, 2); // PDU length
  return Buffer.concat([header, body]);
}

describe('PduReader', () => {
  test('returns a PDU only once all of its bytes are in, however the stream is split', () => {
    const stream = Buffer.concat([pdu(PduType.PDataTf, Buffer.alloc(1000, 7)), pdu(PduType.ReleaseRq, Buffer.alloc(4))]);
    for (const step of [1, 5, 6, 7, 333, stream.length]) {
      const reader = new PduReader(limits);
      const out = [];
      for (let i = 0; i < stream.length; i += step) out.push(...reader.push(stream.subarray(i, i + step)));
      expect(out.map((p) => [p.type, p.type === PduType.PDataTf ? p.length : p.body.length])).toEqual([
        [PduType.PDataTf, 1000],
        [PduType.ReleaseRq, 4],
      ]);
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  test('hands over a P-DATA-TF body split across chunks as views of those chunks, byte for byte', () => {
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const stream = pdu(PduType.PDataTf, body);
    const chunks = [stream.subarray(0, 1000), stream.subarray(1000, 2500), stream.subarray(2500)];
    const reader = new PduReader(limits);
    const out = chunks.flatMap((c) => reader.push(c));
    expect(out).toHaveLength(1);
    const [first] = out;
    if (first?.type !== PduType.PDataTf) throw new Error('expected a P-DATA-TF');
    expect(first.length).toBe(3000);
    expect(first.segments).toHaveLength(3);
    expect(Buffer.concat(first.segments).equals(body)).toBe(true);
    // Views, not copies: the first segment shares the first chunk's memory.
    expect(first.segments[0]!.buffer).toBe(chunks[0]!.buffer);
  });

  test('refuses a P-DATA-TF longer than the advertised maximum from its header alone', () => {
    const reader = new PduReader(limits);
    const header = Buffer.from([PduType.PDataTf, 0, 0xff, 0xff, 0xff, 0xf0]); // length 4294967280
    expect(() => reader.push(header)).toThrow(DimseProtocolError);
    expect(reader.bufferedBytes).toBe(6);
  });

  test('accepts a P-DATA-TF of exactly the advertised maximum', () => {
    const reader = new PduReader(limits);
    expect(reader.push(pdu(PduType.PDataTf, Buffer.alloc(16384)))).toHaveLength(1);
  });

  test('refuses an oversized A-ASSOCIATE-RQ', () => {
    const reader = new PduReader(limits);
    expect(() => reader.push(Buffer.from([PduType.AssociateRq, 0, 0x00, 0x10, 0x00, 0x01]))).toThrow(/A-ASSOCIATE-RQ length/);
  });

  test.each([
    ['release request', PduType.ReleaseRq],
    ['abort', PduType.Abort],
  ])('refuses a %s whose length is not 4', (_name, type) => {
    expect(() => new PduReader(limits).push(pdu(type, Buffer.alloc(5)))).toThrow(/expected 4/);
  });

  test('refuses bytes that are not a PDU type, such as an HTTP request', () => {
    expect(() => new PduReader(limits).push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/unrecognized PDU type 0x47/);
  });

  test('refuses associate accept and reject PDUs, which an acceptor never receives', () => {
    expect(() => new PduReader(limits).push(pdu(PduType.AssociateAc, Buffer.alloc(68)))).toThrow(/unexpected PDU type 2/);
  });
});
