import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { checkDataSet, checkDataSetHead } from './data-set-check.ts';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const UID = '1.2.3.4.5';
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const BIG = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const JPEG_LOSSLESS = '1.2.840.10008.1.2.4.70';
const expected = { sopClassUid: CT, sopInstanceUid: UID };

/** One element, explicit VR little or big endian, or implicit (vr undefined). */
function el(group: number, element: number, vr: string | undefined, value: Buffer, options: { big?: boolean; undefinedLength?: boolean } = {}): Buffer {
  const long = vr === undefined || ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = Buffer.alloc(vr === undefined ? 8 : long ? 12 : 8);
  const u16 = (v: number, at: number) => (options.big ? head.writeUInt16BE(v, at) : head.writeUInt16LE(v, at));
  const u32 = (v: number, at: number) => (options.big ? head.writeUInt32BE(v, at) : head.writeUInt32LE(v, at));
  u16(group, 0);
  u16(element, 2);
  const length = options.undefinedLength ? 0xffffffff : value.length;
  if (vr === undefined) u32(length, 4);
  else {
    head.write(vr, 4, 'latin1');
    if (long) u32(length, 8);
    else u16(length, 6);
  }
  return Buffer.concat([head, value]);
}

const uid = (value: string): Buffer => Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
const item = (body: Buffer, undefinedLength = false): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(undefinedLength ? 0xffffffff : body.length, 4);
  return Buffer.concat([head, body, undefinedLength ? Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]) : Buffer.alloc(0)]);
};
const SEQ_END = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);

function explicitDataSet(extraBefore: Buffer[] = [], extraAfter: Buffer[] = [], instance = UID): Buffer {
  return Buffer.concat([...extraBefore, el(0x0008, 0x0016, 'UI', uid(CT)), el(0x0008, 0x0018, 'UI', uid(instance)), el(0x0010, 0x0010, 'PN', Buffer.from('A^B ')), ...extraAfter]);
}

describe('checkDataSet', () => {
  test('accepts an explicit VR little endian data set whose UIDs are the command’s', () => {
    expect(checkDataSet(explicitDataSet(), EXPLICIT, expected)).toBeUndefined();
  });

  test('accepts the same in implicit VR and in explicit VR big endian', () => {
    const implicit = Buffer.concat([el(0x0008, 0x0016, undefined, uid(CT)), el(0x0008, 0x0018, undefined, uid(UID))]);
    expect(checkDataSet(implicit, IMPLICIT, expected)).toBeUndefined();
    const big = Buffer.concat([el(0x0008, 0x0016, 'UI', uid(CT), { big: true }), el(0x0008, 0x0018, 'UI', uid(UID), { big: true })]);
    expect(checkDataSet(big, BIG, expected)).toBeUndefined();
  });

  test('walks undefined-length sequences, nested items and encapsulated pixel data without refusing them', () => {
    const nested = el(0x0040, 0x0275, 'SQ', Buffer.concat([item(el(0x0040, 0x0009, 'SH', Buffer.from('X ')), true), SEQ_END]), { undefinedLength: true });
    const definedItems = el(0x0008, 0x1140, 'SQ', item(el(0x0008, 0x1150, 'UI', uid(CT))));
    const pixels = el(0x7fe0, 0x0010, 'OB', Buffer.concat([item(Buffer.alloc(0)), item(Buffer.from([0xff, 0xd8, 0xfe, 0xff, 0, 0xe0, 1, 2])), SEQ_END]), { undefinedLength: true });
    expect(checkDataSet(explicitDataSet([], [definedItems, nested, pixels]), JPEG_LOSSLESS, expected)).toBeUndefined();
  });

  test('walks an undefined-length UN as implicit VR, as PS3.5 says', () => {
    const inner = Buffer.concat([item(el(0x0009, 0x1001, undefined, Buffer.from('AB')), true), SEQ_END]);
    expect(checkDataSet(explicitDataSet([], [el(0x0011, 0x1010, 'UN', inner, { undefinedLength: true })]), EXPLICIT, expected)).toBeUndefined();
  });

  test('refuses file meta elements (group 0002) wherever they are, and command elements (group 0000)', () => {
    const ts = el(0x0002, 0x0010, 'UI', uid(BIG));
    expect(checkDataSet(explicitDataSet([ts]), EXPLICIT, expected)).toEqual({ status: 0xc000, errorComment: 'Data set holds file meta information (group 0002)' });
    expect(checkDataSet(explicitDataSet([], [ts]), EXPLICIT, expected)?.status).toBe(0xc000);
    expect(checkDataSet(explicitDataSet([el(0x0000, 0x0100, 'US', Buffer.from([1, 0]))]), EXPLICIT, expected)?.errorComment).toBe('Data set holds command elements (group 0000)');
  });

  test('refuses a Part 10 file sent as the data set', () => {
    const part10 = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), el(0x0002, 0x0010, 'UI', uid(EXPLICIT)), explicitDataSet()]);
    expect(checkDataSet(part10, EXPLICIT, expected)?.errorComment).toBe('A Part 10 file (preamble, DICM) was sent as the data set');
  });

  test('refuses other UIDs than the command’s with 0xA900 and missing ones with 0xC000', () => {
    expect(checkDataSet(explicitDataSet([], [], '9.9.9'), EXPLICIT, expected)).toEqual({ status: 0xa900, errorComment: 'SOP Instance UID differs from Affected SOP Instance UID' });
    expect(checkDataSet(explicitDataSet(), EXPLICIT, { ...expected, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' })?.status).toBe(0xa900);
    expect(checkDataSet(el(0x0010, 0x0010, 'PN', Buffer.from('A^B ')), EXPLICIT, expected)?.errorComment).toBe('Data set has no SOP Class UID (0008,0016)');
  });

  test('refuses lengths past the end, items outside sequences, bad VRs and absurd nesting', () => {
    const whole = explicitDataSet([], [el(0x7fe0, 0x0010, 'OW', Buffer.alloc(64))]);
    expect(checkDataSet(whole.subarray(0, whole.length - 10), EXPLICIT, expected)?.errorComment).toBe('Data set truncated: an element runs past its end');
    expect(checkDataSet(explicitDataSet([], [item(Buffer.alloc(0))]), EXPLICIT, expected)?.errorComment).toBe('Item tag outside a sequence');
    const badVr = explicitDataSet([], [el(0x0010, 0x0020, 'lo', Buffer.from('AB'))]);
    expect(checkDataSet(badVr, EXPLICIT, expected)?.errorComment).toBe('Malformed value representation in the data set');
    let deep = el(0x0040, 0x0009, 'SH', Buffer.from('X '));
    for (let i = 0; i < 40; i += 1) deep = el(0x0040, 0x0275, 'SQ', Buffer.concat([item(deep, true), SEQ_END]), { undefinedLength: true });
    expect(checkDataSet(explicitDataSet([], [deep]), EXPLICIT, expected)?.errorComment).toBe('Data set nested deeper than 32 sequences');
  });

  test('checks a deflated data set on its inflated first bytes', () => {
    expect(checkDataSet(zlib.deflateRawSync(explicitDataSet()), DEFLATED, expected)).toBeUndefined();
    expect(checkDataSet(zlib.deflateRawSync(explicitDataSet([el(0x0002, 0x0010, 'UI', uid(EXPLICIT))])), DEFLATED, expected)?.status).toBe(0xc000);
    expect(checkDataSet(zlib.deflateRawSync(explicitDataSet([], [], '9.9')), DEFLATED, expected)?.status).toBe(0xa900);
  });
});

describe('checkDataSetHead', () => {
  test('cannot tell from too few bytes, and decides once the UIDs are in', () => {
    const whole = explicitDataSet([], [el(0x7fe0, 0x0010, 'OW', Buffer.alloc(1000))]);
    expect(checkDataSetHead(whole.subarray(0, 20), EXPLICIT, expected, false)).toBeUndefined();
    expect(checkDataSetHead(whole.subarray(0, 60), EXPLICIT, expected, false)).toBe('ok');
  });

  test('refuses at once a data set that starts with group 0002 or a preamble', () => {
    expect(checkDataSetHead(el(0x0002, 0x0003, 'UI', uid(UID)), EXPLICIT, expected, false)).toEqual({ status: 0xc000, errorComment: 'Data set holds file meta information (group 0002)' });
    expect(checkDataSetHead(Buffer.concat([Buffer.alloc(128), Buffer.from('DICM')]), EXPLICIT, expected, false)).toMatchObject({ status: 0xc000 });
  });
});
