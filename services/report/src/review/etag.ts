import { createHash } from 'node:crypto';
import { reportStatusOf, shownRevisionOf, type ReportState } from '../state/report-state.ts';

/**
 * The report's entity tag, for lost-update protection (If-Match on edit, sign, addendum).
 *
 * It names what a radiologist looked at: the study, the analysis version, the status and the
 * revision shown. Every new revision that becomes the report changes it, and so does a newer
 * analysis starting (the draft leaves the screen), so an editor holding an older tag gets 412.
 * It is worked out from the stored state alone: a rebuilt Redis index gives the same tags.
 * Strong: the tag stands for the report's content, not the bytes of one response (whose signed
 * image URLs differ from request to request).
 */
export function reportEtag(state: ReportState): string {
  const { status } = reportStatusOf(state);
  const shown = shownRevisionOf(state) ?? 0;
  const digest = createHash('sha256').update(`${state.studyKey}|${state.version}|${status}|${shown}`).digest('base64url').slice(0, 16);
  return `"r${shown}-${digest}"`;
}

export type IfMatchOutcome = 'missing' | 'match' | 'mismatch';

/** The entity tags an If-Match header lists. `*` is left out: it would let an editor overwrite a report it has not seen. */
export function ifMatchTags(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0 && tag !== '*');
}

/** Compares an If-Match header with the current tag (strong comparison: weak tags never match). */
export function checkIfMatch(header: string | undefined, etag: string): IfMatchOutcome {
  const tags = ifMatchTags(header);
  if (tags.length === 0) return 'missing';
  return tags.includes(etag) ? 'match' : 'mismatch';
}
