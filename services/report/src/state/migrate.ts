import { z } from 'zod';
import { isoDateTimeSchema, pseudonymKeySchema } from '@cxr/contracts';
import { reportDraftSchema } from '../drafts/report-draft.ts';
import {
  AI_DRAFT_AUTHOR,
  analysisOutcomeSchema,
  identitySchema,
  positiveFindingsOf,
  receivedSchema,
  type ReportRevision,
  type ReportState,
} from './report-state.ts';

/**
 * Objects written before review existed (schema version 1: AI drafts only) are read as version 2
 * without rewriting them: the bucket stays append-only and the first change writes version 2.
 */

const revisionRefV1Schema = z
  .object({ revision: z.number().int().positive(), kind: z.literal('ai-draft'), version: z.number().int().positive(), createdAt: isoDateTimeSchema })
  .strict();

export const reportStateV1Schema = z
  .object({
    schemaVersion: z.literal(1),
    studyKey: pseudonymKeySchema,
    identity: identitySchema.nullable(),
    version: z.number().int().positive(),
    received: receivedSchema.nullable(),
    analysis: analysisOutcomeSchema.nullable(),
    revisions: z.array(revisionRefV1Schema),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportStateV1 = z.infer<typeof reportStateV1Schema>;

export const reportRevisionV1Schema = z
  .object({
    schemaVersion: z.literal(1),
    studyKey: pseudonymKeySchema,
    revision: z.number().int().positive(),
    kind: z.literal('ai-draft'),
    createdAt: isoDateTimeSchema,
    draft: reportDraftSchema,
  })
  .strict();
export type ReportRevisionV1 = z.infer<typeof reportRevisionV1Schema>;

export function migrateRevisionV1(old: ReportRevisionV1): ReportRevision {
  return {
    schemaVersion: 2,
    studyKey: old.studyKey,
    revision: old.revision,
    kind: 'ai-draft',
    createdAt: old.createdAt,
    author: AI_DRAFT_AUTHOR,
    basedOn: null,
    analysisVersion: old.draft.version,
    draft: old.draft,
    edited: false,
    sections: { ...old.draft.sections },
    decisions: [],
    signature: null,
    addenda: [],
  };
}

/** The revision a version 1 state shows: its analysis's draft, or (between versions) the latest draft. */
export function currentRevisionOfV1(old: ReportStateV1): number | null {
  if (old.analysis?.outcome === 'completed') return old.analysis.revision;
  const latest = old.revisions.reduce((max, ref) => Math.max(max, ref.revision), 0);
  return latest > 0 ? latest : null;
}

/** `current` is the revision named by `currentRevisionOfV1`, already migrated (null when there is none). */
export function migrateStateV1(old: ReportStateV1, current: ReportRevision | null): ReportState {
  const images = old.received?.images.map((image) => ({ ...image })) ?? [];
  return {
    schemaVersion: 2,
    studyKey: old.studyKey,
    identity: old.identity,
    version: old.version,
    received: old.received,
    analysis: old.analysis,
    images,
    arrivedAt: old.received?.receivedAt ?? null,
    revisions: old.revisions.map((ref) => ({
      revision: ref.revision,
      kind: 'ai-draft',
      analysisVersion: ref.version,
      createdAt: ref.createdAt,
      author: AI_DRAFT_AUTHOR,
      basedOn: null,
    })),
    current: current?.revision ?? null,
    positiveFindings: current ? positiveFindingsOf(current) : [],
    signature: null,
    addenda: [],
    updatedAt: old.updatedAt,
  };
}
