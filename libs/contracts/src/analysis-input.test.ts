import { describe, expect, test } from 'vitest';
import {
  ANALYSIS_INPUT_HEADER_BYTES, AnalysisInputFormatError, analysisInputSize, decodeAnalysisInput, encodeAnalysisInput,
} from './analysis-input.ts';

describe('analysis input format', () => {
  test('round-trips pixels, width and height', () => {
    const data = Uint16Array.from({ length: 3 * 2 }, (_, i) => i * 10_000 + 7);
    const bytes = encodeAnalysisInput({ width: 3, height: 2, data });
    expect(bytes.length).toBe(ANALYSIS_INPUT_HEADER_BYTES + 12);
    const image = decodeAnalysisInput(bytes);
    expect(image.width).toBe(3);
    expect(image.height).toBe(2);
    expect([...image.data]).toEqual([...data]);
  });

  test('lays the header and pixels out little-endian as documented', () => {
    const bytes = encodeAnalysisInput({ width: 2, height: 1, data: Uint16Array.from([0x0102, 0xfffe]) });
    expect(bytes.subarray(0, 6).toString('ascii')).toBe('CXRU16');
    expect([...bytes.subarray(6, 16)]).toEqual([1, 0, /* width */ 2, 0, 0, 0, /* height */ 1, 0, 0, 0]);
    expect([...bytes.subarray(16)]).toEqual([0x02, 0x01, 0xfe, 0xff]);
  });

  test('reads pixels stored at an odd offset inside a larger buffer', () => {
    const encoded = encodeAnalysisInput({ width: 2, height: 2, data: Uint16Array.from([1, 2, 3, 65535]) });
    const padded = Buffer.alloc(encoded.length + 1);
    encoded.copy(padded, 1);
    expect([...decodeAnalysisInput(padded.subarray(1)).data]).toEqual([1, 2, 3, 65535]);
  });

  test.each([
    ['a PNG', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(40)]), /does not start with CXRU16/],
    ['a cut-short buffer', encodeAnalysisInput({ width: 4, height: 4, data: new Uint16Array(16) }).subarray(0, 30), /expected 48 for 4x4/],
    ['a header alone', Buffer.from('CXRU16'), /shorter than its header/],
    ['an unknown version', (() => { const b = encodeAnalysisInput({ width: 1, height: 1, data: new Uint16Array(1) }); b.writeUInt16LE(2, 6); return b; })(), /version 2/],
    ['a zero width', (() => { const b = encodeAnalysisInput({ width: 1, height: 1, data: new Uint16Array(1) }); b.writeUInt32LE(0, 8); return b; })(), /invalid size 0x1/],
  ])('refuses %s', (_name, bytes, message) => {
    expect(() => decodeAnalysisInput(bytes)).toThrow(AnalysisInputFormatError);
    expect(() => decodeAnalysisInput(bytes)).toThrow(message);
  });

  test.each([
    [1024, 1229, { width: 213, height: 256 }],
    [2000, 1000, { width: 256, height: 128 }],
    [200, 150, { width: 200, height: 150 }],
  ])('sizes a %ix%i image to a long side of at most 256 by default, keeping its aspect', (width, height, expected) => {
    expect(analysisInputSize(width, height)).toEqual(expected);
  });

  test.each([
    [1024, 1229, { width: 427, height: 512 }],
    [300, 200, { width: 300, height: 200 }],
  ])('sizes a %ix%i image to a configured long side of 512', (width, height, expected) => {
    expect(analysisInputSize(width, height, 512)).toEqual(expected);
  });
});
