import { describe, expect, test } from 'vitest';
import { MultipartError, encodeMultipartRelated, parseMultipartRelated, parseMultipartRelatedType } from './multipart-related.ts';

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

describe('encodeMultipartRelated', () => {
  test('frames each file byte for byte as an application/dicom part', () => {
    const files = [Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 255]), Buffer.alloc(300, 7)];
    const { body, contentType } = encodeMultipartRelated(files, 'b0undary');
    expect(contentType).toBe('multipart/related; type="application/dicom"; boundary=b0undary');
    const parts = body.toString('latin1').split('--b0undary');
    // preamble (empty), two parts, the closing "--\r\n"
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('');
    expect(parts[3]).toBe('--\r\n');
    for (const [i, file] of files.entries()) {
      const part = parts[i + 1]!;
      const [headers, ...rest] = part.split('\r\n\r\n');
      expect(headers).toBe(`\r\nContent-Type: application/dicom\r\nContent-Length: ${file.length}`);
      const content = rest.join('\r\n\r\n');
      expect(content.endsWith('\r\n')).toBe(true);
      expect(Buffer.from(content.slice(0, -2), 'latin1').equals(file)).toBe(true);
    }
  });

  test('makes a fresh random boundary by default', () => {
    const a = encodeMultipartRelated([Buffer.from('x')]).contentType;
    const b = encodeMultipartRelated([Buffer.from('x')]).contentType;
    expect(a).toMatch(/boundary=cxr-[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe('encodeMultipartRelated and parseMultipartRelated', () => {
  test('give back the very files that were framed, whatever bytes they hold', () => {
    const files = [Buffer.from('\r\n--cxr-x\r\n'), Buffer.alloc(0), Buffer.from([0, 255, 0x2d, 0x2d, 0x0d, 0x0a])];
    const { body, contentType } = encodeMultipartRelated(files);
    const { boundary, type } = parseMultipartRelatedType(contentType);
    expect(type).toBe('application/dicom');
    const parts = parseMultipartRelated(body, boundary, 10);
    expect(parts.map((p) => p.body)).toEqual(files);
    expect(parts.map((p) => p.headers.get('content-length'))).toEqual(files.map((f) => String(f.length)));
  });
});
