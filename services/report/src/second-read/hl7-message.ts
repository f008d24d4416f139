/**
 * A small, bounded HL7 v2 message reader (ER7, the pipe-and-hat encoding): segments, fields,
 * repetitions and components, with the standard escapes decoded. Small on purpose: the report
 * service reads one message type (ORU^R01) and a handful of fields, and the npm HL7 libraries
 * either pull in a whole platform SDK or grow their input without a bound. Every limit is checked
 * before the work it bounds, so a huge or hostile message costs no more than its own bytes.
 */

export class Hl7ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Hl7ParseError';
  }
}

export interface Hl7Encoding {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

/** One segment: `fields[0]` is its name; for MSH, `fields[1]` is the field separator itself (MSH-1), so MSH-n is `fields[n]` as for every other segment. */
export interface Hl7Segment {
  name: string;
  fields: string[];
}

export interface Hl7Message {
  encoding: Hl7Encoding;
  segments: Hl7Segment[];
}

export const HL7_LIMITS = Object.freeze({ maxSegments: 5000, maxFieldsPerSegment: 500 });

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

/** Splits a message into segments and fields; refuses anything that does not start with a well-formed MSH. */
export function parseHl7Message(text: string): Hl7Message {
  if (!text.startsWith('MSH')) throw new Hl7ParseError('the message does not start with an MSH segment');
  if (text.length < 8) throw new Hl7ParseError('the MSH segment is cut short');
  const field = text[3]!;
  const [component, repetition, escape, subcomponent] = [text[4], text[5], text[6], text[7]];
  const encoding = { field, component: component!, repetition: repetition!, escape: escape!, subcomponent: subcomponent! };
  const specials = Object.values(encoding);
  if (new Set(specials).size !== specials.length || specials.some((c) => /[A-Za-z0-9\r\n ]/.test(c))) {
    throw new Hl7ParseError('MSH-1/MSH-2 do not give five distinct encoding characters');
  }
  // Segments end with CR; LF and CRLF are tolerated (files and test tools send them).
  const lines = text.split(/\r\n|\r|\n/);
  const segments: Hl7Segment[] = [];
  for (const line of lines) {
    if (line === '') continue;
    if (segments.length >= HL7_LIMITS.maxSegments) throw new Hl7ParseError(`more than ${HL7_LIMITS.maxSegments} segments`);
    const fields = line.split(field, HL7_LIMITS.maxFieldsPerSegment + 2);
    if (fields.length > HL7_LIMITS.maxFieldsPerSegment + 1) throw new Hl7ParseError(`a segment has more than ${HL7_LIMITS.maxFieldsPerSegment} fields`);
    const name = fields[0]!;
    if (!SEGMENT_NAME.test(name)) throw new Hl7ParseError(`segment ${segments.length + 1} has no valid segment name`);
    // MSH-1 is the separator: put it back as a field so MSH-n lines up with fields[n].
    segments.push({ name, fields: name === 'MSH' && segments.length === 0 ? ['MSH', field, ...fields.slice(1)] : fields });
  }
  return { encoding, segments };
}

/** The raw value of field `n` of a segment ('' when absent). */
export function fieldOf(segment: Hl7Segment | undefined, n: number): string {
  return segment?.fields[n] ?? '';
}

/** Component `c` (1-based) of the first repetition of a raw field value, decoded. */
export function componentOf(message: Hl7Message, raw: string, c: number): string {
  const first = raw.split(message.encoding.repetition)[0] ?? '';
  const comp = first.split(message.encoding.component)[c - 1] ?? '';
  return unescapeHl7(message, comp.split(message.encoding.subcomponent)[0] ?? '');
}

/** The repetitions of a raw field value, each decoded as text (components joined as written). */
export function repetitionsOf(message: Hl7Message, raw: string): string[] {
  return raw === '' ? [] : raw.split(message.encoding.repetition).map((r) => unescapeHl7(message, r));
}

/**
 * Decodes HL7 escapes: \F\ \S\ \T\ \R\ \E\ to the encoding characters, \.br\ to a line break (FT),
 * \X..\ hex as Latin-1 characters; other sequences (\H\ \N\ highlighting, \.sp\ ...) are dropped.
 */
export function unescapeHl7(message: Hl7Message, value: string): string {
  const { escape: e, field, component, subcomponent, repetition } = message.encoding;
  if (!value.includes(e)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i]!;
    if (ch !== e) {
      out += ch;
      i += 1;
      continue;
    }
    const end = value.indexOf(e, i + 1);
    if (end < 0) {
      out += value.slice(i); // an unterminated escape is kept as written
      break;
    }
    const seq = value.slice(i + 1, end);
    if (seq === 'F') out += field;
    else if (seq === 'S') out += component;
    else if (seq === 'T') out += subcomponent;
    else if (seq === 'R') out += repetition;
    else if (seq === 'E') out += e;
    else if (seq === '.br') out += '\n';
    else if (/^X([0-9A-Fa-f]{2})+$/.test(seq)) out += Buffer.from(seq.slice(1), 'hex').toString('latin1');
    i = end + 1;
  }
  return out;
}

/** Escapes text for a field of an outgoing message (our ACK's MSA-3 / ERR texts). */
export function escapeHl7(encoding: Hl7Encoding, value: string): string {
  const { escape: e } = encoding;
  let out = '';
  for (const ch of value.replace(/[\r\n]+/g, ' ')) {
    if (ch === e) out += `${e}E${e}`;
    else if (ch === encoding.field) out += `${e}F${e}`;
    else if (ch === encoding.component) out += `${e}S${e}`;
    else if (ch === encoding.subcomponent) out += `${e}T${e}`;
    else if (ch === encoding.repetition) out += `${e}R${e}`;
    else out += ch;
  }
  return out;
}
