import { describe, expect, test } from 'vitest';
import { Tag } from './tags.ts';
import { DicomWriteError, encodeDataSet, encodeElement, formatDecimalString } from './writer.ts';

const hex = (b: Buffer) => b.toString('hex').replace(/(..)/g, '$1 ').trim();

describe('encodeElement', () => {
  test.each([
    // (0008,0018) UI "1.2.3" → padded with NUL to 6 bytes
    ['pads an odd UI with NUL', { tag: Tag.SopInstanceUid, vr: 'UI', value: '1.2.3' }, '08 00 18 00 55 49 06 00 31 2e 32 2e 33 00'],
    // (0008,0060) CS "DX" → even, no padding
    ['writes an even CS as is', { tag: Tag.Modality, vr: 'CS', value: 'DX' }, '08 00 60 00 43 53 02 00 44 58'],
    // (0010,0010) PN "A^B" → padded with a space
    ['pads odd text with a space', { tag: Tag.PatientName, vr: 'PN', value: 'A^B' }, '10 00 10 00 50 4e 04 00 41 5e 42 20'],
    // (0028,0010) US 2 512
    ['writes US little endian', { tag: Tag.Rows, vr: 'US', value: 512 }, '28 00 10 00 55 53 02 00 00 02'],
    // (0028,0030) DS "0.143\0.143" (11 chars → space pad)
    ['joins multiple values with a backslash', { tag: Tag.PixelSpacing, vr: 'DS', value: [0.143, 0.143] }, '28 00 30 00 44 53 0c 00 30 2e 31 34 33 5c 30 2e 31 34 33 20'],
    // (0002,0001) OB 00 00 len=2: OB has two reserved bytes and a 32-bit length
    ['writes OB with a 4-byte length', { tag: Tag.FileMetaInformationVersion, vr: 'OB', value: Uint8Array.of(0, 1) }, '02 00 01 00 4f 42 00 00 02 00 00 00 00 01'],
    // (0028,1041) SS -1
    ['writes SS as two\'s complement', { tag: Tag.PixelIntensityRelationshipSign, vr: 'SS', value: -1 }, '28 00 41 10 53 53 02 00 ff ff'],
    // (0010,0030) DA empty: zero length
    ['writes an empty value with zero length', { tag: Tag.PatientBirthDate, vr: 'DA', value: '' }, '10 00 30 00 44 41 00 00'],
  ] as const)('%s', (_what, element, expected) => {
    expect(hex(encodeElement(element))).toBe(expected);
  });

  test('writes a sequence and its items with defined lengths', () => {
    const encoded = encodeElement({
      tag: Tag.AnatomicRegionSequence,
      vr: 'SQ',
      value: [[{ tag: Tag.CodeValue, vr: 'SH', value: 'AB' }]],
    });
    expect(hex(encoded)).toBe(
      [
        '08 00 18 22 53 51 00 00 12 00 00 00', // (0008,2218) SQ, length 18
        'fe ff 00 e0 0a 00 00 00', // (FFFE,E000) item, length 10
        '08 00 00 01 53 48 02 00 41 42', // (0008,0100) SH "AB"
      ].join(' '),
    );
  });

  test.each([
    ['a CS longer than 16 characters', { tag: Tag.Modality, vr: 'CS', value: 'X'.repeat(17) }],
    ['a UI longer than 64 characters', { tag: Tag.SopInstanceUid, vr: 'UI', value: '1'.repeat(65) }],
    ['a backslash inside a value', { tag: Tag.PatientId, vr: 'LO', value: 'a\\b' }],
    ['a character outside Latin-1', { tag: Tag.PatientName, vr: 'PN', value: 'Zoë^李' }],
    ['a non-integer IS', { tag: Tag.InstanceNumber, vr: 'IS', value: 1.5 }],
  ] as const)('refuses %s', (_what, element) => {
    expect(() => encodeElement(element)).toThrow(DicomWriteError);
  });
});

describe('encodeDataSet', () => {
  test('sorts elements by tag', () => {
    const encoded = encodeDataSet([
      { tag: Tag.Rows, vr: 'US', value: 1 },
      { tag: Tag.Modality, vr: 'CS', value: 'DX' },
    ]);
    expect(encoded.readUInt16LE(0)).toBe(0x0008);
    expect(encoded.readUInt16LE(10)).toBe(0x0028);
  });

  test('refuses a duplicated tag', () => {
    expect(() =>
      encodeDataSet([
        { tag: Tag.Modality, vr: 'CS', value: 'DX' },
        { tag: Tag.Modality, vr: 'CS', value: 'CR' },
      ]),
    ).toThrow(/duplicate/);
  });
});

describe('formatDecimalString', () => {
  test.each([
    [1, '1'],
    [-1024, '-1024'],
    [0.143, '0.143'],
    [2048.5, '2048.5'],
    [1 / 3, '0.33333333333333'],
    [1e-20, '1e-20'],
    [123456789012.3457, '123456789012.346'],
  ])('formats %d as %j (at most 16 characters)', (value, expected) => {
    const text = formatDecimalString(value);
    expect(text).toBe(expected);
    expect(text.length).toBeLessThanOrEqual(16);
  });
});
