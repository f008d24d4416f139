import { z } from 'zod';
import {
  actorSchema,
  addendumSchema,
  dicomUidSchema,
  findingDecisionSchema,
  isoDateTimeSchema,
  priorLookupSchema,
  pseudonymKeySchema,
  revisionKindSchema,
  signatureSchema,
  studyPrioritySchema,
  type Actor,
  type AnalysisCompletedEvent,
  type AnalysisFailedEvent,
  type ReportStatus,
  type StudyReceivedEvent,
} from '@cxr/contracts';
import { draftSectionsSchema, reportDraftSchema, type ReportDraft } from '../drafts/report-draft.ts';

/**
 * A study's report state and its revisions, as stored in the reports bucket (the system of
 * record), and the pure transitions that report events make to them. The review transitions
 * (edit, sign, addendum) are in review-transitions.ts; objects of schema version 1 are migrated
 * on read (migrate.ts).
 *
 * Revisions are append-only and numbered across analysis versions. Each holds the whole report
 * as of that revision (the AI draft it descends from, the sections, the decisions, signature and
 * addenda), so any revision can be shown on its own. The state points at the current one.
 *
 * Analysis versions: only the latest is tracked (an event for an older version is ignored); the
 * events of one version may arrive in any order. While the report is unsigned, a newer version's
 * AI draft becomes the current revision (earlier edits stay in the history). Once signed, the
 * signed report is final: a newer analysis is recorded (as an ai-draft revision that is never
 * current) and the report stays signed; changes go in addenda.
 */

/** Who wrote AI drafts in revisions and the audit trail. */
export const AI_DRAFT_AUTHOR: Actor = Object.freeze({ sub: 'system:ai-draft', name: 'AI draft composer', role: 'system' });

export const receivedImageSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    sopInstanceUid: dicomUidSchema,
    previewKey: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
export type ReceivedImage = z.infer<typeof receivedImageSchema>;

export const analysisOutcomeSchema = z.discriminatedUnion('outcome', [
  z
    .object({
      outcome: z.literal('completed'),
      analysisId: z.string(),
      resultKey: z.string(),
      completedAt: isoDateTimeSchema,
      /** The revision holding this analysis's draft. */
      revision: z.number().int().positive(),
      /**
       * Set when the model refused every image as outside its scope: the report is `out-of-scope`
       * with this reason, and the draft (findings: [], no text) is not shown. Absent before scope checks.
       */
      outOfScopeReason: z.string().optional(),
    })
    .strict(),
  z
    .object({
      outcome: z.literal('failed'),
      analysisId: z.string(),
      reason: z.string(),
      failedAt: isoDateTimeSchema,
    })
    .strict(),
]);
export type AnalysisOutcome = z.infer<typeof analysisOutcomeSchema>;

export const receivedSchema = z
  .object({
    eligible: z.boolean(),
    ineligibleReasons: z.array(z.string()),
    instanceCount: z.number().int().nonnegative(),
    images: z.array(receivedImageSchema),
    receivedAt: isoDateTimeSchema,
    /** The prior look-up ingest did for this version (absent: none was done). */
    priors: priorLookupSchema.optional(),
  })
  .strict();

export const identitySchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    priority: studyPrioritySchema,
    /** SHA-256 of the study's accession number (`accessionKeyOf`, @cxr/platform), when ingest sent one: how the second read finds a study by it. */
    accessionKey: z.string().regex(/^[a-f0-9]{64}$/).optional(),
    /** 'prior': fetched from a PACS only for another study's comparison (study-received `role`); kept off the worklist. */
    role: z.literal('prior').optional(),
  })
  .strict();

export const revisionRefSchema = z
  .object({
    revision: z.number().int().positive(),
    kind: revisionKindSchema,
    analysisVersion: z.number().int().positive(),
    createdAt: isoDateTimeSchema,
    author: actorSchema,
    basedOn: z.number().int().positive().nullable(),
  })
  .strict();
export type RevisionRef = z.infer<typeof revisionRefSchema>;

/** The signature as stored: the contract's, plus what it was an analysis of and the signer's attestation. */
export const storedSignatureSchema = signatureSchema
  .extend({ analysisVersion: z.number().int().positive(), attestation: z.string().nullable() })
  .strict();
export type StoredSignature = z.infer<typeof storedSignatureSchema>;

export const reportStateSchema = z
  .object({
    schemaVersion: z.literal(2),
    studyKey: pseudonymKeySchema,
    /** Known once a `study-received` event has been processed (of any version). */
    identity: identitySchema.nullable(),
    /** The analysis version this state describes (the latest seen). */
    version: z.number().int().positive(),
    /** The latest version's study-received. */
    received: receivedSchema.nullable(),
    /** The latest version's analysis outcome. */
    analysis: analysisOutcomeSchema.nullable(),
    /** Every image any version has announced (revisions of older versions still name them). */
    images: z.array(receivedImageSchema),
    /** When the study first arrived (the worklist sorts oldest first). */
    arrivedAt: isoDateTimeSchema.nullable(),
    revisions: z.array(revisionRefSchema),
    /** The revision that is the report now (null before the first draft). */
    current: z.number().int().positive().nullable(),
    /** Codes of the current revision's positive AI findings that were not rejected (for the worklist). */
    positiveFindings: z.array(z.string()),
    signature: storedSignatureSchema.nullable(),
    addenda: z.array(addendumSchema),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportState = z.infer<typeof reportStateSchema>;

/** A radiologist's decision on one AI finding of one image. Findings without one are undecided. */
export const storedDecisionSchema = z
  .object({ instanceKey: pseudonymKeySchema, code: z.string().min(1).max(64), decision: findingDecisionSchema })
  .strict();
export type StoredDecision = z.infer<typeof storedDecisionSchema>;

/** One stored revision of a report (`objectKeys.reportRevision`): the whole report as of it. */
export const reportRevisionSchema = z
  .object({
    schemaVersion: z.literal(2),
    studyKey: pseudonymKeySchema,
    revision: z.number().int().positive(),
    kind: revisionKindSchema,
    createdAt: isoDateTimeSchema,
    author: actorSchema,
    basedOn: z.number().int().positive().nullable(),
    analysisVersion: z.number().int().positive(),
    /** The AI draft this report descends from (findings, model, the AI's own text). */
    draft: reportDraftSchema,
    /** Whether a person has changed the AI's text or decided on a finding along the way. */
    edited: z.boolean(),
    sections: draftSectionsSchema,
    decisions: z.array(storedDecisionSchema),
    signature: storedSignatureSchema.nullable(),
    addenda: z.array(addendumSchema),
  })
  .strict();
export type ReportRevision = z.infer<typeof reportRevisionSchema>;

export type IgnoredReason = 'stale-version' | 'duplicate' | 'superseded';
export type Transition<Extra = object> =
  | ({ applied: true; state: ReportState } & Extra)
  | { applied: false; reason: IgnoredReason };

export function emptyState(studyKey: string, version: number): ReportState {
  return {
    schemaVersion: 2,
    studyKey,
    identity: null,
    version,
    received: null,
    analysis: null,
    images: [],
    arrivedAt: null,
    revisions: [],
    current: null,
    positiveFindings: [],
    signature: null,
    addenda: [],
    updatedAt: new Date(0).toISOString(),
  };
}

/** The state to apply an event of `version` to, or null when the event is for an older version. */
function baseFor(prev: ReportState | null, studyKey: string, version: number): ReportState | null {
  if (prev === null) return emptyState(studyKey, version);
  if (version < prev.version) return null;
  // A newer version starts its analysis afresh; the report (revisions, signature) carries on.
  if (version > prev.version) return { ...prev, version, received: null, analysis: null };
  return prev;
}

export function applyStudyReceived(prev: ReportState | null, event: StudyReceivedEvent, now: string): Transition {
  const base = baseFor(prev, event.studyKey, event.version);
  if (!base) return { applied: false, reason: 'stale-version' };
  if (
    base.received?.receivedAt === event.receivedAt &&
    base.identity?.studyInstanceUid === event.studyInstanceUid &&
    base.identity.priority === event.priority &&
    base.identity.accessionKey === event.accessionKey &&
    base.identity.role === event.role
  ) {
    return { applied: false, reason: 'duplicate' };
  }
  const images = event.images.map((image) => ({ ...image }));
  return {
    applied: true,
    state: {
      ...base,
      identity: {
        studyInstanceUid: event.studyInstanceUid, priority: event.priority,
        ...(event.accessionKey ? { accessionKey: event.accessionKey } : {}),
        ...(event.role ? { role: event.role } : {}),
      },
      received: {
        eligible: event.eligible,
        ineligibleReasons: [...event.ineligibleReasons],
        instanceCount: event.instanceCount,
        images,
        receivedAt: event.receivedAt,
        ...(event.priors ? { priors: { priors: event.priors.priors.map((p) => ({ ...p })), unanswered: event.priors.unanswered.map((u) => ({ ...u })) } } : {}),
      },
      images: mergeImages(base.images, images),
      arrivedAt: base.arrivedAt ?? event.receivedAt,
      updatedAt: now,
    },
  };
}

/** Known images by instance key; a later announcement of an image replaces the earlier one. */
function mergeImages(known: ReceivedImage[], announced: ReceivedImage[]): ReceivedImage[] {
  const byKey = new Map(known.map((image) => [image.instanceKey, image]));
  for (const image of announced) byKey.set(image.instanceKey, image);
  return [...byKey.values()];
}

export function applyAnalysisFailed(prev: ReportState | null, event: AnalysisFailedEvent, now: string): Transition {
  const base = baseFor(prev, event.studyKey, event.version);
  if (!base) return { applied: false, reason: 'stale-version' };
  // A draft, once made for this version, is not withdrawn by a late failure report.
  if (base.analysis?.outcome === 'completed') return { applied: false, reason: 'superseded' };
  if (base.analysis?.outcome === 'failed' && base.analysis.reason === event.reason) return { applied: false, reason: 'duplicate' };
  return {
    applied: true,
    state: {
      ...base,
      analysis: { outcome: 'failed', analysisId: event.analysisId, reason: event.reason, failedAt: event.failedAt },
      updatedAt: now,
    },
  };
}

/** Why an analysis-completed event would be ignored, or null when it would apply (a cheap check before composing). */
export function analysisCompletedIgnoredReason(prev: ReportState | null, event: AnalysisCompletedEvent): IgnoredReason | null {
  if (prev && event.version < prev.version) return 'stale-version';
  if (prev && event.version === prev.version && prev.analysis?.outcome === 'completed' && prev.analysis.analysisId === event.analysisId) {
    return 'duplicate';
  }
  return null;
}

export interface AnalysisCompletedExtra {
  /** The ai-draft revision to store. */
  revision: ReportRevision;
  /** Whether the draft became the report (false once signed: it is only recorded). */
  becameCurrent: boolean;
  /** The revision it replaced as current, if any. */
  superseded: RevisionRef | null;
}

/**
 * Records a completed analysis whose draft becomes revision `revisionNumber` (which the store
 * picks: one past every revision stored), or says why not. Re-running the same event finds the
 * analysis already recorded: no second revision.
 */
export function applyAnalysisCompleted(
  prev: ReportState | null,
  event: AnalysisCompletedEvent,
  draft: ReportDraft,
  revisionNumber: number,
  now: string,
): Transition<AnalysisCompletedExtra> {
  const ignored = analysisCompletedIgnoredReason(prev, event);
  if (ignored) return { applied: false, reason: ignored };
  const base = baseFor(prev, event.studyKey, event.version)!;
  if (revisionNumber <= latestRevision(base)) throw new Error(`revision ${revisionNumber} is not after the stored ones`);

  const revision: ReportRevision = {
    schemaVersion: 2,
    studyKey: base.studyKey,
    revision: revisionNumber,
    kind: 'ai-draft',
    createdAt: now,
    author: AI_DRAFT_AUTHOR,
    basedOn: null,
    analysisVersion: event.version,
    draft,
    edited: false,
    sections: { ...draft.sections },
    decisions: [],
    signature: null,
    addenda: [],
  };
  const becameCurrent = base.signature === null;
  const superseded = becameCurrent && base.current !== null ? (base.revisions.find((r) => r.revision === base.current) ?? null) : null;
  return {
    applied: true,
    revision,
    becameCurrent,
    superseded,
    state: {
      ...base,
      analysis: {
        outcome: 'completed', analysisId: event.analysisId, resultKey: event.resultKey, completedAt: event.completedAt, revision: revisionNumber,
        ...(allOutOfScope(draft) ? { outOfScopeReason: outOfScopeReasonOf(draft) } : {}),
      },
      revisions: [...base.revisions, refOf(revision)],
      ...(becameCurrent ? { current: revisionNumber, positiveFindings: positiveFindingsOf(revision) } : {}),
      updatedAt: now,
    },
  };
}

/**
 * A new AI draft revision that replaces the current one's COMPARISON (`draft`: the current revision's
 * draft with the recomposed comparison), for a prior whose analysis came after the draft. Only while
 * the current revision is the untouched AI draft of the latest analysis: unsigned, not edited, no
 * decision taken; otherwise nothing changes ('superseded').
 */
export function applyComparisonRecomposed(prev: ReportState, current: ReportRevision, draft: ReportDraft, revisionNumber: number, now: string): Transition<{ revision: ReportRevision }> {
  const untouched = prev.signature === null && prev.current === current.revision && current.kind === 'ai-draft' && !current.edited && current.decisions.length === 0 && current.analysisVersion === prev.version;
  if (!untouched) return { applied: false, reason: 'superseded' };
  if (revisionNumber <= latestRevision(prev)) throw new Error(`revision ${revisionNumber} is not after the stored ones`);
  const revision: ReportRevision = {
    ...current,
    revision: revisionNumber,
    createdAt: now,
    basedOn: current.revision,
    draft,
    sections: { ...current.sections, ...(draft.sections.comparison !== undefined ? { comparison: draft.sections.comparison } : {}) },
  };
  return {
    applied: true,
    revision,
    state: {
      ...prev,
      ...(prev.analysis?.outcome === 'completed' && prev.analysis.revision === current.revision ? { analysis: { ...prev.analysis, revision: revisionNumber } } : {}),
      revisions: [...prev.revisions, refOf(revision)],
      current: revisionNumber,
      updatedAt: now,
    },
  };
}

/** Records that the analysis result could not be used (invalid JSON, missing heatmap): a failure. */
export function applyUnusableResult(prev: ReportState | null, event: AnalysisCompletedEvent, reason: string, now: string): Transition {
  return applyAnalysisFailed(prev, { type: 'analysis-failed', studyKey: event.studyKey, version: event.version, analysisId: event.analysisId, reason, failedAt: now }, now);
}

export function refOf(revision: ReportRevision): RevisionRef {
  return {
    revision: revision.revision,
    kind: revision.kind,
    analysisVersion: revision.analysisVersion,
    createdAt: revision.createdAt,
    author: revision.author,
    basedOn: revision.basedOn,
  };
}

export function latestRevision(state: ReportState): number {
  return state.revisions.reduce((max, ref) => Math.max(max, ref.revision), 0);
}

/** Distinct codes of positive AI findings a radiologist has not rejected. */
export function positiveFindingsOf(revision: ReportRevision): string[] {
  const rejected = new Set(revision.decisions.filter((d) => d.decision === 'rejected').map((d) => `${d.instanceKey}/${d.code}`));
  const codes = revision.draft.findings.filter((f) => f.positive && !rejected.has(`${f.instanceKey}/${f.code}`)).map((f) => f.code);
  return [...new Set(codes)];
}

/**
 * What the radiologist sees. A signed report stays signed whatever comes later. A completed
 * analysis shows as a draft only once the study's identifiers have arrived (its `study-received`),
 * since the draft is served by UID.
 */
export function reportStatusOf(state: ReportState): { status: ReportStatus; reason: string | null } {
  if (state.signature) {
    const newer = state.version > state.signature.analysisVersion;
    return {
      status: 'signed',
      reason: newer ? `A newer analysis (version ${state.version}) arrived after signing; the signed report is unchanged (add an addendum if needed).` : null,
    };
  }
  if (state.analysis?.outcome === 'failed') return { status: 'failed', reason: state.analysis.reason };
  if (state.analysis?.outcome === 'completed' && state.received) {
    if (state.analysis.outOfScopeReason !== undefined) return { status: 'out-of-scope', reason: state.analysis.outOfScopeReason };
    return { status: 'draft', reason: null };
  }
  if (state.received && !state.received.eligible) {
    const reasons = state.received.ineligibleReasons;
    return { status: 'not-eligible', reason: reasons.length > 0 ? reasons.join('; ') : 'Study is not eligible for AI analysis.' };
  }
  return { status: 'pending', reason: null };
}

/** The model refused every image of the draft as outside its scope (a draft with no image read). */
export function allOutOfScope(draft: ReportDraft): boolean {
  // An image the model read always has one finding per label.
  return draft.outOfScope.length > 0 && draft.findings.length === 0;
}

/** One sentence for the worklist and the viewer's banner; each image's own reason when there are several. */
export function outOfScopeReasonOf(draft: ReportDraft): string {
  if (draft.outOfScope.length === 1) return draft.outOfScope[0]!.reason;
  return draft.outOfScope.map((o, i) => `Image ${i + 1}: ${o.reason}`).join(' ');
}

/** The revision the report shows: the current one while there is a draft or a signed report, else none. */
export function shownRevisionOf(state: ReportState): number | null {
  const { status } = reportStatusOf(state);
  return status === 'draft' || status === 'signed' ? state.current : null;
}
