import { accessionNumberSchema, dicomUidSchema, FINAL_REPORT_MAX_CHARS, type FinalReportSubmission } from '@cxr/contracts';
import { componentOf, escapeHl7, fieldOf, Hl7ParseError, parseHl7Message, repetitionsOf, unescapeHl7, type Hl7Encoding, type Hl7Message, type Hl7Segment } from './hl7-message.ts';

/**
 * A radiologist's report as a RIS sends it: HL7 v2 ORU^R01 (observation result), and the
 * acknowledgement we answer with (original mode, PS: HL7 v2.5 section 2.9.2):
 * - AA: taken in (compared, or a resend of one already taken in);
 * - AE: its content cannot be used (no text, no study named, a study we do not know, not final):
 *   resending it unchanged will not help;
 * - AR: refused before its content was read (not an ORU^R01, unparseable, too large) or we cannot
 *   take it now (storage or Redis down): the RIS keeps it and resends.
 *
 * Where the study is named: Study Instance UID in ZDS-1 (IHE Radiology) or an OBX whose OBX-3 is
 * DCM 113014 "Study Instance UID" (or names it in words); accession number in OBR-18 (Placer Field
 * 1, where IHE Radiology puts it), else OBR-3 (Filler Order Number). The text: every OBX of value
 * type TX, FT, ST or CE/CWE-free text, in order, sections named by OBX-3 (IHE's `&GDT` findings,
 * `&IMP` impression) given their heading.
 */

export type AckCode = 'AA' | 'AE' | 'AR';

/** Why a message is answered AE or AR, in words without patient data (they go in MSA-3 and logs). */
export class Hl7RejectError extends Error {
  constructor(
    readonly ackCode: 'AE' | 'AR',
    message: string,
  ) {
    super(message);
    this.name = 'Hl7RejectError';
  }
}

const TEXT_VALUE_TYPES = new Set(['TX', 'FT', 'ST']);
const FINAL_STATUSES = new Set(['F', 'C', 'A']);

export interface OruReport {
  message: Hl7Message;
  submission: FinalReportSubmission;
}

/** The MSH of a message we could parse, kept to address the ACK. */
export function parseOru(text: string): Hl7Message {
  try {
    return parseHl7Message(text);
  } catch (error) {
    if (error instanceof Hl7ParseError) throw new Hl7RejectError('AR', `unreadable HL7 message: ${error.message}`);
    throw error;
  }
}

/** The final report an ORU^R01 carries; AE/AR errors for anything else. */
export function readOruR01(message: Hl7Message): FinalReportSubmission {
  const msh = message.segments[0]!;
  const type = componentOf(message, fieldOf(msh, 9), 1);
  const event = componentOf(message, fieldOf(msh, 9), 2);
  if (type !== 'ORU' || (event !== 'R01' && event !== '')) throw new Hl7RejectError('AR', `unsupported message type ${type || '(none)'}^${event}: this receiver takes ORU^R01`);
  const controlId = componentOf(message, fieldOf(msh, 10), 1);
  if (controlId === '') throw new Hl7RejectError('AR', 'MSH-10 (message control ID) is empty');
  const processingId = componentOf(message, fieldOf(msh, 11), 1);
  if (processingId !== '' && processingId !== 'P' && processingId !== 'T' && processingId !== 'D') throw new Hl7RejectError('AR', `unsupported processing ID ${processingId}`);

  const obr = message.segments.find((s) => s.name === 'OBR');
  if (!obr) throw new Hl7RejectError('AE', 'the message has no OBR segment');
  const status = componentOf(message, fieldOf(obr, 25), 1);
  if (status !== '' && !FINAL_STATUSES.has(status)) throw new Hl7RejectError('AE', `OBR-25 result status ${status} is not final (F, C or A): only final reports are compared`);

  const studyInstanceUid = studyUidOf(message);
  const accessionRaw = componentOf(message, fieldOf(obr, 18), 1) || componentOf(message, fieldOf(obr, 3), 1);
  let accessionNumber: string | undefined;
  if (accessionRaw !== '') {
    const parsed = accessionNumberSchema.safeParse(accessionRaw);
    if (!parsed.success) throw new Hl7RejectError('AE', 'the accession number (OBR-18 or OBR-3) is not 1-64 printable characters');
    accessionNumber = parsed.data;
  }
  if (!studyInstanceUid && !accessionNumber) throw new Hl7RejectError('AE', 'no study named: send the Study Instance UID (ZDS-1) or the accession number (OBR-18 or OBR-3)');

  const text = reportTextOf(message);
  if (text.trim() === '') throw new Hl7RejectError('AE', 'the message carries no report text (no OBX of value type TX, FT or ST)');
  if (text.length > FINAL_REPORT_MAX_CHARS) throw new Hl7RejectError('AE', `the report text is longer than ${FINAL_REPORT_MAX_CHARS} characters`);
  const reportedAt = hl7DateTime(componentOf(message, fieldOf(obr, 22), 1)) ?? hl7DateTime(componentOf(message, fieldOf(obr, 7), 1));
  return {
    source: 'hl7-oru',
    sourceId: controlId.slice(0, 200),
    ...(studyInstanceUid ? { studyInstanceUid } : {}),
    ...(accessionNumber ? { accessionNumber } : {}),
    text,
    ...(reportedAt ? { reportedAt } : {}),
  };
}

function studyUidOf(message: Hl7Message): string | undefined {
  const candidates: string[] = [];
  const zds = message.segments.find((s) => s.name === 'ZDS');
  if (zds) candidates.push(componentOf(message, fieldOf(zds, 1), 1));
  for (const obx of message.segments.filter((s) => s.name === 'OBX')) {
    const id = componentOf(message, fieldOf(obx, 3), 1);
    const name = componentOf(message, fieldOf(obx, 3), 2);
    if (id === '113014' || /study instance uid/i.test(name)) candidates.push(componentOf(message, fieldOf(obx, 5), 1));
  }
  for (const candidate of candidates) {
    const uid = candidate.trim().replace(/^urn:oid:/, '');
    if (uid === '') continue;
    if (!dicomUidSchema.safeParse(uid).success) throw new Hl7RejectError('AE', 'the Study Instance UID in the message is not a valid DICOM UID');
    return uid;
  }
  return undefined;
}

function reportTextOf(message: Hl7Message): string {
  const parts: string[] = [];
  let lastHeading: string | null = null;
  for (const obx of message.segments.filter((s: Hl7Segment) => s.name === 'OBX')) {
    const valueType = fieldOf(obx, 2);
    if (!TEXT_VALUE_TYPES.has(valueType)) continue;
    const id = componentOf(message, fieldOf(obx, 3), 1);
    if (id === '113014') continue;
    // OBX-5 repetitions are lines; components of a TX/FT/ST value are not meaningful: keep them as written.
    const lines = repetitionsOf(message, fieldOf(obx, 5));
    const heading = headingOf(id, componentOf(message, fieldOf(obx, 3), 2));
    if (heading && heading !== lastHeading) parts.push(`${heading}:`);
    lastHeading = heading ?? lastHeading;
    parts.push(lines.join('\n'));
  }
  return parts.join('\n').replace(/[^\S\n]+\n/g, '\n').trim();
}

/** IHE's observation sub-IDs (`&GDT`, `&IMP`, ...) or the words of OBX-3 as a section heading. */
function headingOf(id: string, name: string): string | null {
  const key = `${id} ${name}`.toUpperCase();
  if (/&IMP\b|IMPRESSION|CONCLUSION/.test(key)) return 'IMPRESSION';
  if (/&GDT\b|FINDINGS/.test(key)) return 'FINDINGS';
  if (/&HIS\b|INDICATION|HISTORY/.test(key)) return 'INDICATION';
  if (/COMPARISON/.test(key)) return 'COMPARISON';
  return null;
}

/** HL7 DTM `YYYYMMDD[HHMM[SS]][+/-ZZZZ]` as ISO 8601 (UTC when no offset is given), or undefined. */
export function hl7DateTime(value: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?(?:\.\d+)?)?([+-]\d{4})?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', tz] = m;
  const offset = tz ? `${tz.slice(0, 3)}:${tz.slice(3)}` : 'Z';
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : new Date(iso).toISOString().replace(/\.\d{3}Z$/, '.000Z');
}

const DEFAULT_ENCODING: Hl7Encoding = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/**
 * The ACK of a message: MSH (sender and receiver swapped), MSA (code, the control ID it answers,
 * the reason) and, for AE/AR, an ERR. For a message too broken to read, `message` is null and the
 * ACK answers no control ID.
 */
export function buildAck(message: Hl7Message | null, code: AckCode, text: string, options: { now: Date; controlId: string; application: string; facility: string }): string {
  const enc = message?.encoding ?? DEFAULT_ENCODING;
  const msh = message?.segments[0];
  const raw = (n: number) => (msh ? fieldOf(msh, n) : '');
  const version = (msh && componentOf(message!, raw(12), 1)) || '2.5.1';
  const stamp = options.now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const f = enc.field;
  const encChars = `${enc.component}${enc.repetition}${enc.escape}${enc.subcomponent}`;
  const answered = msh ? unescapeHl7(message!, componentOf(message!, raw(10), 1)) : '';
  const segments = [
    ['MSH', encChars, escapeHl7(enc, options.application), escapeHl7(enc, options.facility), raw(3), raw(4), stamp, '', `ACK${enc.component}${msh ? componentOf(message!, raw(9), 2) || 'R01' : 'R01'}${enc.component}ACK`, escapeHl7(enc, options.controlId), raw(11) || 'P', version].join(f),
    ['MSA', code, escapeHl7(enc, answered), escapeHl7(enc, text.slice(0, 80))].join(f),
  ];
  if (code !== 'AA') {
    // ERR-3 HL7 error code (table 0357): 207 application internal error, 200 unsupported message type; ERR-4 severity E.
    const errorCode = code === 'AR' ? '207' : '101';
    segments.push(['ERR', '', '', `${errorCode}${enc.component}${escapeHl7(enc, text.slice(0, 200))}${enc.component}HL70357`, 'E'].join(f));
  }
  return segments.join('\r') + '\r';
}
