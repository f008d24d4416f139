import { describe, expect, test } from 'vitest';
import { MultipartError, parseMultipartRelated, parseMultipartRelatedType } from './multipart-related.ts';

function body(boundary: string, parts: string[], preamble = ''): Buffer {
  return Buffer.from(preamble + parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\n`);
}

describe('parseMultipartRelatedType', () => {
  test('reads the boundary and type, quoted or not', () => {
    expect(parseMultipartRelatedType('multipart/related; type="application/dicom"; boundary="a b"')).toEqual({ boundary: 'a b', type: 'application/dicom' });
    expect(parseMultipartRelatedType('Multipart/Related;boundary=xyz;type=application/dicom')).toEqual({ boundary: 'xyz', type: 'application/dicom' });
  });

  test("accepts Orthanc's 73-character boundary (two UUIDs), longer than RFC 2046's 70", () => {
    const boundary = '19d07f64-ca93-4c1b-b206-7868963ce1e2-19d07f64-ca93-4c1b-b206-7868963ce1e2';
    expect(parseMultipartRelatedType(`multipart/related; type="application/dicom"; boundary=${boundary}`)).toEqual({ boundary, type: 'application/dicom' });
  });

  test.each([
    [undefined, /missing Content-Type/],
    [`multipart/related; boundary=${'b'.repeat(257)}`, /boundary/],
    ['application/dicom', /expected multipart\/related/],
    ['multipart/related; type="application/dicom"', /boundary/],
  ])('refuses %s', (header, message) => {
    expect(() => parseMultipartRelatedType(header)).toThrow(message);
  });
});

describe('parseMultipartRelated', () => {
  test('splits parts and keeps their bytes and headers exactly', () => {
    const payload = '\r\n--not-the-boundary\r\n\0\x01binary';
    const parts = parseMultipartRelated(body('B', [`Content-Type: application/dicom\r\n\r\n${payload}`, 'Content-Type: application/dicom\r\n\r\nsecond']), 'B', 10);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.body.toString('latin1')).toBe(payload);
    expect(parts[0]!.headers.get('content-type')).toBe('application/dicom');
    expect(parts[1]!.body.toString()).toBe('second');
  });

  test('ignores a preamble before the first boundary', () => {
    const parts = parseMultipartRelated(body('B', ['Content-Type: application/dicom\r\n\r\nx'], 'preamble text\r\n'), 'B', 10);
    expect(parts.map((p) => p.body.toString())).toEqual(['x']);
  });

  test('refuses a body cut short before the closing boundary', () => {
    const full = body('B', ['Content-Type: application/dicom\r\n\r\nabcdef']);
    expect(() => parseMultipartRelated(full.subarray(0, 40), 'B', 10)).toThrow(MultipartError);
  });

  test('refuses more parts than allowed', () => {
    expect(() => parseMultipartRelated(body('B', ['\r\na', '\r\nb', '\r\nc']), 'B', 2)).toThrow(/more than 2 parts/);
  });

  test('refuses a body without the boundary', () => {
    expect(() => parseMultipartRelated(Buffer.from('hello'), 'B', 2)).toThrow(/no multipart boundary/);
  });
});
