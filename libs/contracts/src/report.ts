import { z } from 'zod';
import { dicomUidSchema, findingCodingSchema, isoDateTimeSchema, studyPrioritySchema } from './common.ts';
import { MAX_INDICATION_LENGTH } from './analysis-request.ts';

/**
 * The review API between the report service and the radiologist's viewer (the standalone
 * `/viewer` page, the OHIF extension) and integration systems. Every body sent or received by
 * the report service's `/api` is one of these schemas; the service parses what it sends.
 */

/**
 * - pending: study received, no AI draft yet.
 * - draft: an AI draft exists and nobody has signed it (it may have been edited).
 * - signed: a radiologist signed it; final and immutable, later changes are addenda.
 * - failed / not-eligible: no draft will come for this analysis version (`statusReason` says why).
 * - out-of-scope: the model looked at every image and refused them all as not what it was built for
 *   (its pixels unlike the training images, or blank, saturated, too small, inverted): no findings,
 *   no heatmaps, no generated text; `statusReason` and `outOfScopeImages` say why.
 */
export const reportStatusSchema = z.enum(['pending', 'draft', 'signed', 'failed', 'not-eligible', 'out-of-scope']);
export type ReportStatus = z.infer<typeof reportStatusSchema>;

export const AI_DRAFT_DISCLAIMER =
  'AI-generated draft, not reviewed or signed by a radiologist. Produced by a reference model ' +
  'trained on synthetic images only; not for clinical use.';

/** What a signed report says about its origin (the signer's name follows it). */
export const AI_ASSISTED_SIGNED_NOTICE =
  'Prepared with AI assistance from a reference model trained on synthetic images only; reviewed and signed by';

/** Roles carried in the bearer token (JWT). */
export const roleSchema = z.enum(['radiologist', 'viewer', 'admin', 'integration']);
export type Role = z.infer<typeof roleSchema>;

/** Who did something, as recorded in revisions and the audit trail (from the token). */
export const actorSchema = z
  .object({ sub: z.string().min(1).max(256), name: z.string().max(256), role: roleSchema.or(z.literal('system')) })
  .strict();
export type Actor = z.infer<typeof actorSchema>;

/** Probability relative to the operating threshold, in words a report can carry. */
export const confidenceBandSchema = z.enum(['high', 'moderate', 'low']);
export type ConfidenceBand = z.infer<typeof confidenceBandSchema>;

/** Patient side (image left is patient right on a PA/AP view). */
export const sideSchema = z.enum(['right', 'left', 'bilateral', 'midline']);
export type Side = z.infer<typeof sideSchema>;
export const zoneSchema = z.enum(['upper', 'middle', 'lower']);
export type Zone = z.infer<typeof zoneSchema>;

/**
 * Where the lung zones end on a frontal image, as fractions of the image height (0 = top): the one
 * definition the report's drafts (finding-geometry.ts, which says how they were chosen) and the
 * model evaluation read a zone from a position with. Fixed fractions, not a segmentation: thirds
 * of lung fields spanning about 17%–70% of the height, as on images framed like the phantom
 * generator's (which places lesions in anatomical thirds of each lung).
 */
export const LUNG_ZONE_CUTOFFS = Object.freeze({ upperEnd: 0.355, middleEnd: 0.525 });

/** The lung zone of a vertical position (0 top .. 1 bottom); above or below the lung fields count as upper or lower. */
export function zoneOfImageHeight(y: number): Zone {
  return y < LUNG_ZONE_CUTOFFS.upperEnd ? 'upper' : y < LUNG_ZONE_CUTOFFS.middleEnd ? 'middle' : 'lower';
}

/** Axis-aligned box, normalised 0..1 in image coordinates (x right, y down). */
export const regionSchema = z
  .object({ x: z.number().min(0).max(1), y: z.number().min(0).max(1), width: z.number().min(0).max(1), height: z.number().min(0).max(1) })
  .strict();
export type Region = z.infer<typeof regionSchema>;

export const findingDecisionSchema = z.enum(['accepted', 'rejected']);
export type FindingDecision = z.infer<typeof findingDecisionSchema>;

export const reportFindingSchema = z
  .object({
    code: z.string(),
    display: z.string(),
    coding: findingCodingSchema.nullable(),
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    positive: z.boolean(),
    confidence: confidenceBandSchema,
    side: sideSchema.nullable(),
    zone: zoneSchema.nullable(),
    /** Where the heatmap supports the finding (hot area around the peak). */
    region: regionSchema.nullable(),
    sopInstanceUid: dicomUidSchema,
    /** The radiologist's decision on this AI finding; null until made. */
    decision: findingDecisionSchema.nullable(),
    /** Colour-mapped heatmap over the image with a legend, PNG, same aspect ratio as the image. Signed, short-lived URL. */
    overlayUrl: z.string(),
    /** The raw heatmap as an 8-bit grey PNG. Signed, short-lived URL. */
    heatmapUrl: z.string(),
    peak: z.object({ x: z.number(), y: z.number() }).strict(),
  })
  .strict();
export type ReportFinding = z.infer<typeof reportFindingSchema>;

/**
 * A sentence of the report text and the finding (and heatmap region) that supports it.
 * Computed from the current text, so edited text stays grounded where it still names a finding.
 */
export const groundedSentenceSchema = z
  .object({
    section: z.enum(['findings', 'impression']),
    text: z.string(),
    /** Character offsets of the sentence in its section's text. */
    start: z.number().int().nonnegative(),
    end: z.number().int().nonnegative(),
    /** The finding the sentence is about; null for negatives and general statements. */
    finding: z.object({ code: z.string(), sopInstanceUid: dicomUidSchema, region: regionSchema.nullable() }).strict().nullable(),
    /**
     * When the sentence places its finding on another side or zone than the heatmap does (e.g. the
     * text says "right lower zone", the heatmap points at the right upper zone): what disagrees, for
     * the reader to check. Absent when they agree or the sentence names no location.
     */
    conflict: z.string().max(500).optional(),
  })
  .strict();
export type GroundedSentence = z.infer<typeof groundedSentenceSchema>;

/**
 * The rules that keep an AI draft's text in line with the classifier (see @cxr/drafting):
 * - incomplete-text: decoding stopped at its length limit without a stop token; the image's whole text is dropped;
 * - malformed: a sentence outside the model's sentence forms (e.g. "A large mm mass ..."), replaced by the templated sentence of its finding or dropped;
 * - asserts-negative: a sentence asserts a finding the classifier calls negative on that image; dropped;
 * - negates-positive: a sentence negates a finding the classifier calls positive ("No pneumothorax."); dropped;
 * - unmeasured-size: a size or ratio that was not measured is taken out of the sentence;
 * - measured-size: the size the text gave is replaced by the one measured on the image;
 * - restated-finding: a further sentence placing a finding already stated elsewhere; dropped;
 * - disagrees-with-findings: an impression sentence placing a finding elsewhere than the findings do; dropped;
 * - repeated: the same sentence again; dropped;
 * - missing-positive: a positive finding the text does not state gets its templated sentence;
 * - normal-impression: nothing is positive and the impression does not say so: it becomes the normal-study sentence;
 * - answers-question: the indication asks about a finding ("? pneumothorax"): the impression answers it ("No pneumothorax.", the positive finding first, or that the call is borderline).
 */
export const textRuleSchema = z.enum([
  'incomplete-text',
  'malformed',
  'asserts-negative',
  'negates-positive',
  'unmeasured-size',
  'measured-size',
  'restated-finding',
  'disagrees-with-findings',
  'repeated',
  'missing-positive',
  'normal-impression',
  'answers-question',
]);
export type TextRule = z.infer<typeof textRuleSchema>;

/** One change the consistency checks made to the model's text: `original` null = added, `replacement` null = removed. */
export const textEditSchema = z
  .object({
    section: z.enum(['findings', 'impression']),
    rule: textRuleSchema,
    original: z.string().max(8192).nullable(),
    replacement: z.string().max(8192).nullable(),
    /** Why, in words (e.g. "a unit without a number"). */
    detail: z.string().max(500).optional(),
  })
  .strict();
export type TextEdit = z.infer<typeof textEditSchema>;

export const signatureSchema = z
  .object({ signedBy: actorSchema, signedAt: isoDateTimeSchema, revision: z.number().int().positive() })
  .strict();
export type Signature = z.infer<typeof signatureSchema>;

export const addendumSchema = z
  .object({ revision: z.number().int().positive(), text: z.string(), author: actorSchema, createdAt: isoDateTimeSchema })
  .strict();
export type Addendum = z.infer<typeof addendumSchema>;

export const revisionKindSchema = z.enum(['ai-draft', 'edit', 'signature', 'addendum']);
export type RevisionKind = z.infer<typeof revisionKindSchema>;

export const reportImageSchema = z
  .object({
    sopInstanceUid: dicomUidSchema,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** 8-bit grey preview PNG, same extent as the overlays. Signed, short-lived URL. */
    previewUrl: z.string(),
  })
  .strict();
export type ReportImage = z.infer<typeof reportImageSchema>;

/**
 * The prior study the draft's COMPARISON was made with, for the viewer to show beside the current
 * one: its date, its analysed images and its findings as its own current report has them (a finding
 * its radiologist rejected is not positive).
 */
export const priorStudyViewSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    /** `YYYY-MM-DD`. */
    studyDate: z.string(),
    images: z.array(reportImageSchema),
    findings: z.array(
      z
        .object({
          code: z.string(),
          display: z.string(),
          probability: z.number().min(0).max(1),
          threshold: z.number().min(0).max(1),
          positive: z.boolean(),
          side: sideSchema.nullable(),
          zone: zoneSchema.nullable(),
          sopInstanceUid: dicomUidSchema,
        })
        .strict(),
    ),
  })
  .strict();
export type PriorStudyView = z.infer<typeof priorStudyViewSchema>;

/** An image of the study that the model refused as outside its scope, and why (see ImageScope). */
export const outOfScopeImageSchema = z
  .object({
    sopInstanceUid: dicomUidSchema,
    check: z.enum(['out-of-distribution', 'blank', 'saturated', 'too-small', 'polarity']),
    /** A sentence a radiologist understands, e.g. "The AI model was not built for this image: ...". */
    reason: z.string(),
    score: z.number().nullable(),
    limit: z.number().nullable(),
  })
  .strict();
export type OutOfScopeImage = z.infer<typeof outOfScopeImageSchema>;

/** report → viewer: `GET /api/studies/{StudyInstanceUID}/report` (ETag header = `etag`). */
export const reportResponseSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    status: reportStatusSchema,
    statusReason: z.string().nullable(),
    aiGenerated: z.literal(true),
    signed: z.boolean(),
    /** True once a person has edited the AI draft (text or decisions). */
    edited: z.boolean(),
    /** AI_DRAFT_DISCLAIMER while unsigned; AI_ASSISTED_SIGNED_NOTICE and the signer once signed. */
    disclaimer: z.string(),
    priority: studyPrioritySchema,
    /** 'prior': a study fetched from a PACS only as another study's prior, for the comparison; on no worklist. */
    role: z.literal('prior').optional(),
    analysisVersion: z.number().int().nonnegative(),
    /** The current revision (0 before any draft). */
    revision: z.number().int().nonnegative(),
    revisionKind: revisionKindSchema.nullable(),
    /** Strong entity tag of the current revision; send it back in If-Match to edit or sign. */
    etag: z.string(),
    model: z.object({ id: z.string(), version: z.string(), sha256: z.string() }).strict().nullable(),
    /** Full plain text: disclaimer line, INDICATION (when there is one), FINDINGS, IMPRESSION (and addenda once signed). */
    text: z.string(),
    /** `indication`: the clinical question from the order (de-identified), absent when the order gave none. */
    sections: z.object({ findings: z.string(), impression: z.string(), indication: z.string().optional(), comparison: z.string().optional() }).strict(),
    /**
     * What the consistency checks changed in the model's text before it became the AI draft
     * ("edited by consistency checks"); empty when nothing. Absent for drafts composed before the checks.
     */
    textEdits: z.array(textEditSchema).optional(),
    sentences: z.array(groundedSentenceSchema),
    /** The analysed images of the study (frontal/lateral), with a grey preview to draw overlays on. */
    images: z.array(reportImageSchema),
    findings: z.array(reportFindingSchema),
    /** Images the model refused as outside its scope (no findings come from them); empty when it read them all. */
    outOfScopeImages: z.array(outOfScopeImageSchema).default([]),
    signature: signatureSchema.nullable(),
    addenda: z.array(addendumSchema),
    /** The prior the COMPARISON was made with, when there is one (absent from services that predate priors). */
    priorStudy: priorStudyViewSchema.nullable().optional(),
    /** When the URLs in `findings` stop working (refetch the report for fresh ones). */
    urlsExpireAt: isoDateTimeSchema.nullable(),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportResponse = z.infer<typeof reportResponseSchema>;

/** viewer → report: `PUT /api/studies/{uid}/report` with `If-Match: <etag>`. */
export const reportEditRequestSchema = z
  .object({
    /** `indication` left out: the shown revision's indication is kept. */
    sections: z.object({ findings: z.string().max(20_000), impression: z.string().max(10_000), indication: z.string().max(MAX_INDICATION_LENGTH).optional(), comparison: z.string().max(10_000).optional() }).strict(),
    decisions: z
      .array(z.object({ code: z.string().max(64), sopInstanceUid: dicomUidSchema, decision: findingDecisionSchema.nullable() }).strict())
      .max(1000)
      .default([]),
  })
  .strict();
export type ReportEditRequest = z.infer<typeof reportEditRequestSchema>;

/** viewer → report: `POST /api/studies/{uid}/report/sign` with `If-Match: <etag>` (body may be empty). */
export const reportSignRequestSchema = z.object({ attestation: z.string().max(1000).optional() }).strict();
export type ReportSignRequest = z.infer<typeof reportSignRequestSchema>;

/** viewer → report: `POST /api/studies/{uid}/report/addenda` with `If-Match: <etag>`; only once signed. */
export const reportAddendumRequestSchema = z.object({ text: z.string().min(1).max(10_000) }).strict();
export type ReportAddendumRequest = z.infer<typeof reportAddendumRequestSchema>;

/** `final-report`: a radiologist's final report was taken in and compared with the AI (second-read.ts); `discrepancy-review`: a peer reviewer's call on a discrepancy. */
export const auditActionSchema = z.enum(['ai-draft', 'view', 'edit', 'sign', 'addendum', 'export', 'analysis-failed', 'reindex', 'final-report', 'discrepancy-review']);
export type AuditAction = z.infer<typeof auditActionSchema>;

/** One append-only audit entry (who, when, what). */
export const auditEntrySchema = z
  .object({
    at: isoDateTimeSchema,
    actor: actorSchema,
    action: auditActionSchema,
    revision: z.number().int().nonnegative().nullable(),
    /** What was done, without patient identifiers (e.g. "decisions: nodule accepted"). */
    detail: z.string().max(2000),
  })
  .strict();
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /api/studies/{uid}/report/audit`. */
export const auditTrailResponseSchema = z.object({ studyInstanceUid: dicomUidSchema, entries: z.array(auditEntrySchema) }).strict();
export type AuditTrailResponse = z.infer<typeof auditTrailResponseSchema>;

/** One revision in the history: who made it, when, and what it was based on. */
export const revisionSummarySchema = z
  .object({
    revision: z.number().int().positive(),
    kind: revisionKindSchema,
    createdAt: isoDateTimeSchema,
    author: actorSchema,
    /** The revision this one changed (null for an AI draft). */
    basedOn: z.number().int().positive().nullable(),
    /** The analysis version whose AI draft this revision descends from. */
    analysisVersion: z.number().int().positive(),
  })
  .strict();
export type RevisionSummary = z.infer<typeof revisionSummarySchema>;

/** `GET /api/studies/{uid}/report/revisions`, oldest first. */
export const revisionListResponseSchema = z
  .object({ studyInstanceUid: dicomUidSchema, revisions: z.array(revisionSummarySchema) })
  .strict();
export type RevisionListResponse = z.infer<typeof revisionListResponseSchema>;

/** `GET /api/studies/{uid}/report/revisions/{n}`: the report's content as of that revision. */
export const revisionResponseSchema = revisionSummarySchema
  .extend({
    studyInstanceUid: dicomUidSchema,
    /** Whether this is the report's current revision. */
    current: z.boolean(),
    edited: z.boolean(),
    sections: z.object({ findings: z.string(), impression: z.string(), indication: z.string().optional(), comparison: z.string().optional() }).strict(),
    decisions: z.array(z.object({ code: z.string(), sopInstanceUid: dicomUidSchema, decision: findingDecisionSchema }).strict()),
    signature: signatureSchema.nullable(),
    addenda: z.array(addendumSchema),
  })
  .strict();
export type RevisionResponse = z.infer<typeof revisionResponseSchema>;

/** One row of the worklist, `GET /api/studies?status=&priority=&limit=&cursor=`. */
export const worklistItemSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    status: reportStatusSchema,
    priority: studyPrioritySchema,
    /** Codes of positive AI findings that need a fast read (`REPORT_URGENT_FINDINGS`, default pneumothorax). */
    urgentFindings: z.array(z.string()),
    positiveFindings: z.number().int().nonnegative(),
    revision: z.number().int().nonnegative(),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type WorklistItem = z.infer<typeof worklistItemSchema>;

/** Sorted: urgent findings first, then priority (stat, urgent, routine), then oldest first. */
export const worklistResponseSchema = z
  .object({ items: z.array(worklistItemSchema), nextCursor: z.string().nullable() })
  .strict();
export type WorklistResponse = z.infer<typeof worklistResponseSchema>;

/** Server-sent event `report-updated` on `GET /api/events`: a study's report changed. */
export const reportUpdatedEventSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    status: reportStatusSchema,
    priority: studyPrioritySchema,
    revision: z.number().int().nonnegative(),
    urgentFindings: z.array(z.string()),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportUpdatedEvent = z.infer<typeof reportUpdatedEventSchema>;

/** Error body of every HTTP API in the system. */
export const apiErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }).strict() })
  .strict();
export type ApiError = z.infer<typeof apiErrorSchema>;
