import type { Actor, Addendum, ReportEditRequest, ReportSignRequest } from '@cxr/contracts';
import type { DraftFinding } from '../drafts/report-draft.ts';
import { positiveFindingsOf, refOf, type ReportRevision, type ReportState, type StoredDecision } from './report-state.ts';

/**
 * The radiologist's changes to a report, as pure transitions: each takes the stored state and
 * the revision it shows, and gives the new revision and state, or the reason it is refused.
 * Preconditions on the request (If-Match) are checked by the caller, under the study lock.
 */

export interface FindingRef {
  code: string;
  sopInstanceUid: string;
}

export type ReviewRefusal =
  | { ok: false; refusal: 'no-draft' }
  | { ok: false; refusal: 'signed' }
  | { ok: false; refusal: 'not-signed' }
  | { ok: false; refusal: 'unknown-findings'; findings: FindingRef[] }
  | { ok: false; refusal: 'undecided-findings'; findings: FindingRef[] };

export type ReviewResult = { ok: true; state: ReportState; revision: ReportRevision } | ReviewRefusal;

export interface ReviewContext {
  state: ReportState;
  /** The revision the report shows now (`shownRevisionOf`), read from storage; null when none. */
  shown: ReportRevision | null;
  /** The number the new revision gets (the store picks one past every revision stored). */
  revisionNumber: number;
  author: Actor;
  now: string;
}

const keyOf = (instanceKey: string, code: string): string => `${instanceKey}/${code}`;

const indicationOf = (indication: string | undefined): { indication?: string } => (indication !== undefined ? { indication } : {});

/** New sections, and decisions on the shown revision's findings (a null decision withdraws one). */
export function applyEdit(context: ReviewContext, edit: ReportEditRequest): ReviewResult {
  const { state, shown } = context;
  if (state.signature) return { ok: false, refusal: 'signed' };
  if (!shown) return { ok: false, refusal: 'no-draft' };

  const instanceKeys = new Map(state.images.map((image) => [image.sopInstanceUid, image.instanceKey]));
  const findings = new Set(shown.draft.findings.map((f) => keyOf(f.instanceKey, f.code)));
  const decisions = new Map(shown.decisions.map((d) => [keyOf(d.instanceKey, d.code), d]));
  const unknown: FindingRef[] = [];
  for (const { code, sopInstanceUid, decision } of edit.decisions) {
    const instanceKey = instanceKeys.get(sopInstanceUid);
    if (instanceKey === undefined || !findings.has(keyOf(instanceKey, code))) {
      unknown.push({ code, sopInstanceUid });
      continue;
    }
    if (decision === null) decisions.delete(keyOf(instanceKey, code));
    else decisions.set(keyOf(instanceKey, code), { instanceKey, code, decision });
  }
  if (unknown.length > 0) return { ok: false, refusal: 'unknown-findings', findings: unknown };

  return next(context, shown, {
    kind: 'edit',
    edited: true,
    sections: {
      // The indication is the order's: kept unless the edit rewrites it.
      ...indicationOf(edit.sections.indication ?? shown.sections.indication),
      findings: edit.sections.findings,
      impression: edit.sections.impression,
      // An edit that does not send the comparison keeps the shown one (viewers that predate it).
      ...(edit.sections.comparison !== undefined ? { comparison: edit.sections.comparison } : shown.sections.comparison !== undefined ? { comparison: shown.sections.comparison } : {}),
    },
    // In the draft's order, so equal content stores equally.
    decisions: shown.draft.findings.flatMap((f) => {
      const d = decisions.get(keyOf(f.instanceKey, f.code));
      return d ? [d] : [];
    }),
  });
}

/** Signs the shown draft; refused while a positive AI finding has no accept/reject decision. */
export function applySign(context: ReviewContext, request: ReportSignRequest): ReviewResult {
  const { state, shown, author, now, revisionNumber } = context;
  if (state.signature) return { ok: false, refusal: 'signed' };
  if (!shown) return { ok: false, refusal: 'no-draft' };
  const undecided = undecidedPositiveFindings(state, shown);
  if (undecided.length > 0) return { ok: false, refusal: 'undecided-findings', findings: undecided };
  const signature = { signedBy: author, signedAt: now, revision: revisionNumber, analysisVersion: shown.analysisVersion, attestation: request.attestation ?? null };
  return next(context, shown, { kind: 'signature', signature });
}

/** Adds an addendum to a signed report (the signed text itself never changes). */
export function applyAddendum(context: ReviewContext, text: string): ReviewResult {
  const { state, shown, author, now, revisionNumber } = context;
  if (!state.signature || !shown) return { ok: false, refusal: 'not-signed' };
  const addendum: Addendum = { revision: revisionNumber, text, author, createdAt: now };
  return next(context, shown, { kind: 'addendum', addenda: [...shown.addenda, addendum] });
}

/** Positive AI findings of `revision` without a decision, with their images' SOP Instance UIDs. */
export function undecidedPositiveFindings(state: ReportState, revision: ReportRevision): FindingRef[] {
  const decided = new Set(revision.decisions.map((d) => keyOf(d.instanceKey, d.code)));
  return revision.draft.findings
    .filter((f) => f.positive && !decided.has(keyOf(f.instanceKey, f.code)))
    .map((f) => ({ code: f.code, sopInstanceUid: sopInstanceUidOf(state, f) }));
}

function sopInstanceUidOf(state: ReportState, finding: DraftFinding): string {
  return state.images.find((image) => image.instanceKey === finding.instanceKey)?.sopInstanceUid ?? `(image ${finding.instanceKey})`;
}

type Changes = Pick<ReportRevision, 'kind'> & Partial<Pick<ReportRevision, 'edited' | 'sections' | 'signature' | 'addenda'>> & { decisions?: StoredDecision[] };

/** The revision after `shown` with `changes`, and the state pointing at it. */
function next(context: ReviewContext, shown: ReportRevision, changes: Changes): ReviewResult {
  const { state, revisionNumber, author, now } = context;
  const revision: ReportRevision = {
    ...shown,
    ...changes,
    schemaVersion: 2,
    revision: revisionNumber,
    createdAt: now,
    author,
    basedOn: shown.revision,
  };
  return {
    ok: true,
    revision,
    state: {
      ...state,
      revisions: [...state.revisions, refOf(revision)],
      current: revision.revision,
      positiveFindings: positiveFindingsOf(revision),
      signature: revision.signature,
      addenda: revision.addenda,
      updatedAt: now,
    },
  };
}
