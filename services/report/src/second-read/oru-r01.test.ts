import { describe, expect, test } from 'vitest';
import { parseHl7Message, unescapeHl7 } from './hl7-message.ts';
import { buildAck, hl7DateTime, Hl7RejectError, parseOru, readOruR01 } from './oru-r01.ts';

const UID = '1.2.826.0.1.3680043.8.498.12345';

/** An OBR with the given fields (OBR-n at index n). */
function obrWith(fields: Record<number, string>): string {
  const values = Array.from({ length: 26 }, (_, n) => (n === 0 ? 'OBR' : (fields[n] ?? '')));
  return values.join('|');
}

/** An ORU^R01 as a RIS sends it; segments joined with CR. */
function oru(overrides: { msh9?: string; obr?: string; obx?: readonly string[]; zds?: string | null } = {}): string {
  return [
    `MSH|^~\\&|RIS|HOSP|CXR|AI|20261204101500||${overrides.msh9 ?? 'ORU^R01^ORU_R01'}|MSG00001|P|2.5.1`,
    'PID|1||PATID1234^^^HOSP^MR||DOE^JANE',
    overrides.obr ?? obrWith({ 1: '1', 2: 'PLAC1', 3: 'ACC0042', 4: '71046^XR CHEST 2 VIEWS^CPT4', 7: '20261204100000', 18: 'ACC0042', 22: '20261204101000', 25: 'F' }),
    ...(overrides.obx ?? [
      'OBX|1|TX|71046&GDT^FINDINGS^L||A large right pleural effusion.~No pneumothorax.||||||F',
      'OBX|2|TX|71046&IMP^IMPRESSION^L||Right pleural effusion.||||||F',
    ]),
    ...(overrides.zds === null ? [] : [overrides.zds ?? `ZDS|${UID}^CXR^Application^DICOM`]),
  ].join('\r');
}

describe('reading an ORU^R01', () => {
  test('takes the study UID from ZDS-1, the accession from OBR-18 and the text from the TX OBX segments with their section headings', () => {
    const submission = readOruR01(parseOru(oru()));
    expect(submission).toEqual({
      source: 'hl7-oru',
      sourceId: 'MSG00001',
      studyInstanceUid: UID,
      accessionNumber: 'ACC0042',
      text: 'FINDINGS:\nA large right pleural effusion.\nNo pneumothorax.\nIMPRESSION:\nRight pleural effusion.',
      reportedAt: '2026-12-04T10:10:00.000Z',
    });
  });

  test('falls back to OBR-3 for the accession number when OBR-18 is empty', () => {
    const submission = readOruR01(parseOru(oru({ obr: obrWith({ 1: '1', 3: 'ACC77', 25: 'F' }), zds: null })));
    expect(submission.accessionNumber).toBe('ACC77');
    expect(submission.studyInstanceUid).toBeUndefined();
  });

  test('decodes formatted-text escapes: line breaks and escaped separators', () => {
    const submission = readOruR01(parseOru(oru({ obx: ['OBX|1|FT|IMP^IMPRESSION||Effusion \\T\\ atelectasis.\\.br\\No pneumothorax \\F\\ seen.'] })));
    expect(submission.text).toBe('IMPRESSION:\nEffusion & atelectasis.\nNo pneumothorax | seen.');
  });

  test('accepts segments ended by LF as well as CR', () => {
    expect(readOruR01(parseOru(oru().replace(/\r/g, '\n'))).studyInstanceUid).toBe(UID);
  });

  test.each([
    ['an ADT message', { msh9: 'ADT^A01' }, 'AR', /unsupported message type/],
    ['a preliminary result', { obr: obrWith({ 1: '1', 3: 'ACC1', 25: 'P' }) }, 'AE', /not final/],
    ['no text', { obx: ['OBX|1|NM|8867-4^Heart rate||72'] }, 'AE', /no report text/],
    ['no study named', { obr: obrWith({ 1: '1', 25: 'F' }), zds: null }, 'AE', /no study named/],
    ['a malformed Study Instance UID', { zds: 'ZDS|1.2.abc^CXR' }, 'AE', /not a valid DICOM UID/],
    ['no OBR', { obr: 'NTE|1||comment' }, 'AE', /no OBR/],
  ] as const)('refuses %s with %s', (_name, overrides, code, message) => {
    const run = () => readOruR01(parseOru(oru(overrides)));
    expect(run).toThrow(Hl7RejectError);
    try {
      run();
    } catch (error) {
      expect((error as Hl7RejectError).ackCode).toBe(code);
      expect((error as Error).message).toMatch(message);
    }
  });

  test.each([
    ['text that is not HL7', 'hello world'],
    ['an MSH cut short', 'MSH|^~'],
    ['repeated encoding characters', 'MSH|^^\\&|RIS'],
    ['a segment without a name', 'MSH|^~\\&|RIS|HOSP\r|x|y'],
  ])('answers AR to %s', (_name, text) => {
    expect(() => parseOru(text)).toThrow(expect.objectContaining({ ackCode: 'AR' }));
  });

  test('refuses a message with more segments than the bound without reading them all', () => {
    const text = ['MSH|^~\\&|RIS|H|CXR|AI|20260101||ORU^R01|1|P|2.5.1', ...Array.from({ length: 6000 }, (_, i) => `NTE|${i}`)].join('\r');
    expect(() => parseOru(text)).toThrow(/more than 5000 segments/);
  });
});

describe('the ACK', () => {
  const now = new Date('2026-12-04T10:20:30.000Z');
  const options = { now, controlId: 'ack1', application: 'CXR-REPORT', facility: 'LAB' };

  test('answers the message control ID with the sender and receiver swapped', () => {
    const ack = buildAck(parseOru(oru()), 'AA', 'compared', options);
    const parsed = parseHl7Message(ack);
    expect(parsed.segments.map((s) => s.name)).toEqual(['MSH', 'MSA']);
    const msh = parsed.segments[0]!.fields;
    expect([msh[3], msh[4], msh[5], msh[6], msh[7], msh[9], msh[10], msh[12]]).toEqual(['CXR-REPORT', 'LAB', 'RIS', 'HOSP', '20261204102030', 'ACK^R01^ACK', 'ack1', '2.5.1']);
    expect(parsed.segments[1]!.fields).toEqual(['MSA', 'AA', 'MSG00001', 'compared']);
  });

  test('carries an ERR segment with the reason for AE and AR, escaped', () => {
    const ack = buildAck(parseOru(oru()), 'AE', 'no study | named', options);
    const parsed = parseHl7Message(ack);
    expect(parsed.segments.map((s) => s.name)).toEqual(['MSH', 'MSA', 'ERR']);
    expect(unescapeHl7(parsed, parsed.segments[1]!.fields[3]!)).toBe('no study | named');
    expect(parsed.segments[2]!.fields[4]).toBe('E');
  });

  test('can answer a message too broken to read, with no control ID', () => {
    const parsed = parseHl7Message(buildAck(null, 'AR', 'unreadable', options));
    expect(parsed.segments[1]!.fields.slice(0, 3)).toEqual(['MSA', 'AR', '']);
  });
});

test.each([
  ['20261204101500', '2026-12-04T10:15:00.000Z'],
  ['202612041015+0100', '2026-12-04T09:15:00.000Z'],
  ['20261204', '2026-12-04T00:00:00.000Z'],
  ['2026-12-04', undefined],
  ['20261399', undefined],
])('reads the HL7 date-time %s as %s', (value, iso) => {
  expect(hl7DateTime(value)).toBe(iso);
});
