import { MAX_INDICATION_LENGTH } from '@cxr/contracts';
import { readOrderAttributes, type ParsedInstance } from '@cxr/dicom';
import { REMOVED, scrubFreeText } from '../privacy/free-text-scrubber.ts';

/**
 * The clinical question of a study, as the analysis request carries it: read from the order
 * attributes of an instance (@cxr/dicom readOrderAttributes), scrubbed of the patient's own name,
 * ID and accession number and of anything shaped like a date, identifier or titled name
 * (privacy/free-text-scrubber.ts), before it leaves ingest.
 *
 * What counts as the question: the Reason for the Requested Procedure (0040,1002) (also in each
 * Request Attributes Sequence item), Additional Patient History (0010,21B0) and Admitting
 * Diagnoses Description (0008,1080), in that order. Only when none of those is there, the
 * Requested Procedure Description (0032,1060) and the Study Description (0008,1030): a RIS that
 * has no reason field often writes the question there ("CXR ? pneumothorax"), while beside a reason
 * they only name the examination ("CHEST PA"). Parts are kept once each (case aside), joined
 * with "; ", and the whole is cut at MAX_INDICATION_LENGTH on a word boundary.
 */
export function studyIndicationOf(instance: ParsedInstance): string | undefined {
  const order = readOrderAttributes(instance);
  const known = { patientName: instance.patientName, patientId: instance.patientId, accessionNumber: instance.accessionNumber };
  const scrubbed = (texts: (string | undefined)[]): string[] =>
    texts.flatMap((text) => {
      if (text === undefined) return [];
      const clean = scrubFreeText(text, known);
      // Nothing clinical left once the identifiers are out.
      return clean.replaceAll(REMOVED, '').replace(/[\s\p{P}]+/gu, '') === '' ? [] : [clean];
    });
  const clinical = scrubbed([...order.reasons, order.history, order.admittingDiagnoses]);
  const parts = clinical.length > 0 ? clinical : scrubbed([...order.procedures, order.studyDescription]);
  return joinIndication(parts);
}

/** The parts of one or more instances' indications as one, each once (case aside), bounded. */
export function joinIndication(parts: readonly string[]): string | undefined {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const part of parts) {
    const trimmed = part.trim().replace(/[;,\s]+$/, '');
    const key = trimmed.toLowerCase();
    if (trimmed === '' || seen.has(key)) continue;
    seen.add(key);
    kept.push(trimmed);
  }
  if (kept.length === 0) return undefined;
  return bounded(kept.join('; '));
}

function bounded(text: string): string {
  if (text.length <= MAX_INDICATION_LENGTH) return text;
  const cut = text.slice(0, MAX_INDICATION_LENGTH - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > MAX_INDICATION_LENGTH / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
