// Free text from the order (the clinical question) leaves ingest only scrubbed: the patient's own
// name parts, ID and accession number, and anything shaped like a date, time, identifier, phone
// number, e-mail address, UID, or a titled person's name ("Dr Smith", "Mrs. Jones") are replaced by
// "[removed]". Clinical words stay: "? pneumothorax after line insertion", "SOB, fever 3 days".
// Deliberately over-eager: a lost word in an indication costs less than a leaked identifier.

export const REMOVED = '[removed]';

export interface KnownIdentifiers {
  patientName?: string | undefined;
  patientId?: string | undefined;
  accessionNumber?: string | undefined;
}

const MONTHS = 'jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?';
const PATTERNS: RegExp[] = [
  /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, // e-mail
  /\b\d+(?:\.\d+){3,}\b/g, // UIDs, IP addresses
  /\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b/g, // 2026-11-02
  /\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b/g, // 02/11/2026, 2.11.26
  new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)?\\s+(?:${MONTHS})\\.?,?(?:\\s+\\d{2,4})?\\b`, 'gi'), // 2 November 2026
  new RegExp(`\\b(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s+\\d{2,4})?\\b`, 'gi'), // Nov 2, 2026
  /\b(?:19|20)\d{6}\b/g, // DICOM DA 20261102
  /\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\b/gi, // times
  /\+?\(?\d[\d ()-]{7,}\d\b/g, // phone numbers
  /\b[A-Z]{0,4}\d{5,}[A-Z]?\b/gi, // MRNs, accession-like numbers
  // Titled names ("Dr Smith", "Dr. J. Watson", "Mrs Jones"): the title in any case, the name capitalised.
  /\b(?:[Dd][Rr]|[Mm][Rr][Ss]?|[Mm][Ss]|[Mm]iss|[Pp]rof|[Ss]ister|[Nn]urse)\.?\s+(?:[A-Z]\.?\s*){0,2}[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?/g,
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The patient's own name parts (DICOM PN: family^given^middle^prefix^suffix, and = for other groups). */
function nameParts(name: string | undefined): string[] {
  if (!name) return [];
  return name
    .split(/[=^\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p.length >= 2);
}

export function scrubFreeText(text: string, known: KnownIdentifiers = {}): string {
  let out = text;
  for (const value of [known.patientId, known.accessionNumber, ...nameParts(known.patientName)]) {
    if (value && value.trim().length >= 2) out = out.replace(new RegExp(`(?<![\\w])${escape(value.trim())}(?![\\w])`, 'gi'), REMOVED);
  }
  for (const pattern of PATTERNS) out = out.replace(pattern, REMOVED);
  return out.replace(/(?:\[removed\][\s,;/-]*){2,}/g, `${REMOVED} `).replace(/\s+/g, ' ').trim();
}
