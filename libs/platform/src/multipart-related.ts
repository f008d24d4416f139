/**
 * `multipart/related` bodies (RFC 2387) as DICOMweb uses them (STOW-RS requests, WADO-RS
 * answers): one encoder and one strict parser, for every sender and receiver in the project.
 * The parser's input is already bounded in size by the HTTP layer; parts are returned as views
 * into it (no copies). Malformed framing is a MultipartError (a receiver answers 400).
 */
import { randomBytes } from 'node:crypto';

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface MultipartRelatedType {
  boundary: string;
  /** The `type` parameter: the media type of the root/parts, e.g. application/dicom. */
  type: string | undefined;
}

export interface MultipartPart {
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * RFC 2046 caps a boundary at 70 characters, but Orthanc's STOW-RS client sends two UUIDs joined
 * by "-" (73): we accept longer ones, still bounded, rather than refuse a common PACS.
 */
const MAX_BOUNDARY_LENGTH = 256;

/** Parses `multipart/related; type="application/dicom"; boundary=...`. */
export function parseMultipartRelatedType(contentType: string | undefined): MultipartRelatedType {
  if (!contentType) throw new MultipartError('missing Content-Type');
  const [mediaType, ...params] = splitParams(contentType);
  if (mediaType?.toLowerCase() !== 'multipart/related') throw new MultipartError(`expected multipart/related, got ${mediaType}`);
  const values = new Map<string, string>();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    values.set(p.slice(0, eq).trim().toLowerCase(), value);
  }
  const boundary = values.get('boundary');
  if (!boundary || boundary.length > MAX_BOUNDARY_LENGTH) throw new MultipartError('missing or invalid boundary parameter');
  return { boundary, type: values.get('type')?.toLowerCase() };
}

function splitParams(header: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current.trim());
  return out;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

export function parseMultipartRelated(body: Buffer, boundary: string, maxParts: number): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new MultipartError('no multipart boundary found in the body');
  for (;;) {
    let cursor = at + delimiter.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return parts; // closing delimiter "--"
    // Transport padding, then CRLF.
    while (body[cursor] === 0x20 || body[cursor] === 0x09) cursor++;
    if (!body.subarray(cursor, cursor + 2).equals(CRLF)) throw new MultipartError('malformed boundary line');
    cursor += 2;
    const headerEnd = body.indexOf(HEADER_END, cursor);
    let headers = new Map<string, string>();
    let bodyStart: number;
    if (body.subarray(cursor, cursor + 2).equals(CRLF)) {
      bodyStart = cursor + 2; // no headers
    } else {
      if (headerEnd < 0 || headerEnd - cursor > MAX_HEADER_BYTES) throw new MultipartError('part headers missing or too long');
      headers = parseHeaders(body.subarray(cursor, headerEnd).toString('latin1'));
      bodyStart = headerEnd + 4;
    }
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), bodyStart);
    if (next < 0) throw new MultipartError('body ends before the closing boundary');
    if (parts.length >= maxParts) throw new MultipartError(`more than ${maxParts} parts`);
    parts.push({ headers, body: body.subarray(bodyStart, next) });
    at = next + 2;
  }
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError('malformed part header');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * A `multipart/related; type="..."` body of the given parts (by default `application/dicom`
 * Part 10 files), each framed byte for byte with its Content-Type and Content-Length, and the
 * Content-Type header to send it with. The default boundary is random per body.
 */
export function encodeMultipartRelated(
  parts: readonly Buffer[],
  boundary = `cxr-${randomBytes(16).toString('hex')}`,
  type = 'application/dicom',
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${part.length}\r\n\r\n`, 'ascii'), part, CRLF);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'ascii'));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
