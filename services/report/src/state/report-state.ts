import { z } from 'zod';
import {
  dicomUidSchema,
  isoDateTimeSchema,
  pseudonymKeySchema,
  studyPrioritySchema,
  type AnalysisCompletedEvent,
  type AnalysisFailedEvent,
  type ReportStatus,
  type StudyReceivedEvent,
} from '@cxr/contracts';
import { reportDraftSchema } from '../drafts/report-draft.ts';

/**
 * A study's report state, one JSON object per study in the reports bucket (the system of
 * record), and the pure transitions that events make to it.
 *
 * Only the latest analysis version is tracked: an event for an older version is ignored, a
 * newer version starts afresh (keeping the study's identity and the revision history). The
 * events of one version may arrive in any order: `received` and `analysis` are filled in
 * independently, and the status is derived from both (a draft shows once both are there).
 * Revisions are append-only and numbered across versions; the next issue's edits and signing
 * add revisions of other kinds.
 */

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

const analysisOutcomeSchema = z.discriminatedUnion('outcome', [
  z
    .object({
      outcome: z.literal('completed'),
      analysisId: z.string(),
      resultKey: z.string(),
      completedAt: isoDateTimeSchema,
      /** The revision holding this analysis's draft. */
      revision: z.number().int().positive(),
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

export const revisionRefSchema = z
  .object({
    revision: z.number().int().positive(),
    kind: z.literal('ai-draft'),
    version: z.number().int().positive(),
    createdAt: isoDateTimeSchema,
  })
  .strict();
export type RevisionRef = z.infer<typeof revisionRefSchema>;

export const reportStateSchema = z
  .object({
    schemaVersion: z.literal(1),
    studyKey: pseudonymKeySchema,
    /** Known once a `study-received` event has been processed (of any version). */
    identity: z.object({ studyInstanceUid: dicomUidSchema, priority: studyPrioritySchema }).strict().nullable(),
    /** The analysis version this state describes (the latest seen). */
    version: z.number().int().positive(),
    received: z
      .object({
        eligible: z.boolean(),
        ineligibleReasons: z.array(z.string()),
        instanceCount: z.number().int().nonnegative(),
        images: z.array(receivedImageSchema),
        receivedAt: isoDateTimeSchema,
      })
      .strict()
      .nullable(),
    analysis: analysisOutcomeSchema.nullable(),
    revisions: z.array(revisionRefSchema),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportState = z.infer<typeof reportStateSchema>;

/** One stored revision of a report (`objectKeys.reportRevision`). */
export const reportRevisionSchema = z
  .object({
    schemaVersion: z.literal(1),
    studyKey: pseudonymKeySchema,
    revision: z.number().int().positive(),
    kind: z.literal('ai-draft'),
    createdAt: isoDateTimeSchema,
    draft: reportDraftSchema,
  })
  .strict();
export type ReportRevision = z.infer<typeof reportRevisionSchema>;

export type IgnoredReason = 'stale-version' | 'duplicate' | 'superseded';
export type Transition<Extra = object> =
  | ({ applied: true; state: ReportState } & Extra)
  | { applied: false; reason: IgnoredReason };

/** The state to apply an event of `version` to, or null when the event is for an older version. */
function baseFor(prev: ReportState | null, studyKey: string, version: number): ReportState | null {
  if (prev === null) {
    return { schemaVersion: 1, studyKey, identity: null, version, received: null, analysis: null, revisions: [], updatedAt: new Date(0).toISOString() };
  }
  if (version < prev.version) return null;
  if (version > prev.version) return { ...prev, version, received: null, analysis: null };
  return prev;
}

export function applyStudyReceived(prev: ReportState | null, event: StudyReceivedEvent, now: string): Transition {
  const base = baseFor(prev, event.studyKey, event.version);
  if (!base) return { applied: false, reason: 'stale-version' };
  if (
    base.received?.receivedAt === event.receivedAt &&
    base.identity?.studyInstanceUid === event.studyInstanceUid &&
    base.identity.priority === event.priority
  ) {
    return { applied: false, reason: 'duplicate' };
  }
  return {
    applied: true,
    state: {
      ...base,
      identity: { studyInstanceUid: event.studyInstanceUid, priority: event.priority },
      received: {
        eligible: event.eligible,
        ineligibleReasons: [...event.ineligibleReasons],
        instanceCount: event.instanceCount,
        images: event.images.map((image) => ({ ...image })),
        receivedAt: event.receivedAt,
      },
      updatedAt: now,
    },
  };
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

/**
 * Records a completed analysis whose draft becomes revision `revision` (returned), or says why
 * not. Re-running the same event finds the analysis already recorded: no second revision.
 */
export function applyAnalysisCompleted(
  prev: ReportState | null,
  event: AnalysisCompletedEvent,
  now: string,
): Transition<{ revision: number }> {
  const base = baseFor(prev, event.studyKey, event.version);
  if (!base) return { applied: false, reason: 'stale-version' };
  if (base.analysis?.outcome === 'completed' && base.analysis.analysisId === event.analysisId) {
    return { applied: false, reason: 'duplicate' };
  }
  const revision = latestRevision(base) + 1;
  return {
    applied: true,
    revision,
    state: {
      ...base,
      analysis: { outcome: 'completed', analysisId: event.analysisId, resultKey: event.resultKey, completedAt: event.completedAt, revision },
      revisions: [...base.revisions, { revision, kind: 'ai-draft', version: event.version, createdAt: now }],
      updatedAt: now,
    },
  };
}

/** Records that the analysis result could not be used (invalid JSON, missing heatmap): a failure. */
export function applyUnusableResult(prev: ReportState | null, event: AnalysisCompletedEvent, reason: string, now: string): Transition {
  return applyAnalysisFailed(prev, { type: 'analysis-failed', studyKey: event.studyKey, version: event.version, analysisId: event.analysisId, reason, failedAt: now }, now);
}

export function latestRevision(state: ReportState): number {
  return state.revisions.reduce((max, ref) => Math.max(max, ref.revision), 0);
}

/**
 * What the radiologist sees. A completed analysis shows as a draft only once the study's
 * identifiers have arrived (its `study-received`), since the draft is served by UID.
 */
export function reportStatusOf(state: ReportState): { status: ReportStatus; reason: string | null } {
  if (state.analysis?.outcome === 'failed') return { status: 'failed', reason: state.analysis.reason };
  if (state.analysis?.outcome === 'completed' && state.received) return { status: 'draft', reason: null };
  if (state.received && !state.received.eligible) {
    const reasons = state.received.ineligibleReasons;
    return { status: 'not-eligible', reason: reasons.length > 0 ? reasons.join('; ') : 'Study is not eligible for AI analysis.' };
  }
  return { status: 'pending', reason: null };
}
