import { z } from 'zod';
import { actorSchema, reportStatusSchema } from './report.ts';
import { dicomUidSchema, isoDateTimeSchema, traceContextSchema } from './common.ts';

/**
 * The second read: a radiologist's final report taken in from the RIS (HL7 v2 ORU^R01 over MLLP),
 * an EHR (FHIR R4 DiagnosticReport), the PACS (a DICOM Basic/Enhanced Text SR through ingest), our
 * own review flow (a signed report) or a script (`POST /api/studies/{uid}/final-report`), compared
 * with the AI's findings for the study. Where they disagree with confidence, a discrepancy goes on
 * the peer-review worklist (`GET /api/discrepancies`). Nothing here ever changes a signed report.
 */

/** Most characters of a final report's text anywhere it is taken in (a chest film report is a few thousand). */
export const FINAL_REPORT_MAX_CHARS = 100_000;

export const finalReportSourceSchema = z.enum(['hl7-oru', 'fhir', 'dicom-sr', 'review-sign', 'api']);
export type FinalReportSource = z.infer<typeof finalReportSourceSchema>;

/** Accession number (DICOM SH: 16 characters; RIS order numbers are sometimes longer). */
export const accessionNumberSchema = z.string().trim().min(1).max(64).regex(/^[\x20-\x7e]+$/, 'printable ASCII expected');

/**
 * ingest → report (HTTP `POST /internal/final-reports`, integration role), and the form every
 * other way in is reduced to: which study (its UID, its accession number, or both), the text, and
 * where it came from. `sourceId` is the sender's own id of the message (MSH-10, the resource id,
 * the SR's SOP Instance UID) and makes a resend a duplicate.
 */
const finalReportFields = {
  source: finalReportSourceSchema,
  sourceId: z.string().min(1).max(200).optional(),
  studyInstanceUid: dicomUidSchema.optional(),
  accessionNumber: accessionNumberSchema.optional(),
  text: z.string().min(1).max(FINAL_REPORT_MAX_CHARS),
  /** When the radiologist signed it, per the sender. */
  reportedAt: isoDateTimeSchema.optional(),
};
const namesItsStudy = (s: { studyInstanceUid?: string | undefined; accessionNumber?: string | undefined }) => s.studyInstanceUid !== undefined || s.accessionNumber !== undefined;
const NAMES_ITS_STUDY = { message: 'a final report names its study by studyInstanceUid or accessionNumber' };

export const finalReportSubmissionSchema = z.object(finalReportFields).strict().refine(namesItsStudy, NAMES_ITS_STUDY);
export type FinalReportSubmission = z.infer<typeof finalReportSubmissionSchema>;

/**
 * ingest → report, queue `final-reports`: a verified DICOM text SR (Basic Text or Enhanced SR) that
 * arrived through ingest, to compare with the AI. It names the stored object, not its content: the
 * report text and the accession number stay out of Redis; the report service reads them from the
 * originals bucket. The job id is the SR's SOP Instance UID, so the same SR is compared once.
 */
export const finalReportJobSchema = z
  .object({
    source: z.literal('dicom-sr'),
    studyInstanceUid: dicomUidSchema,
    sopInstanceUid: dicomUidSchema,
    /** The SR as received, in the originals bucket (`objectKeys.original`). */
    objectKey: z.string().min(1).max(1024),
    trace: traceContextSchema.optional(),
  })
  .strict();
export type FinalReportJob = z.infer<typeof finalReportJobSchema>;

/** What the final report says about a finding (libs/report-text `findingStatus`). */
export const reportFindingStatusSchema = z.enum(['present', 'uncertain', 'absent', 'not_mentioned']);
export type ReportFindingStatus = z.infer<typeof reportFindingStatusSchema>;

/**
 * - ai-positive-report-absent: the AI calls it positive with high confidence, the report denies it;
 * - ai-positive-report-silent: the AI calls it positive with high confidence, the report does not mention it;
 * - report-positive-ai-negative: the report states it, the AI is confidently negative;
 * - side-disagrees: both call it present, on opposite sides (the AI's heatmap right, the report left only, or the reverse).
 */
export const discrepancyKindSchema = z.enum(['ai-positive-report-absent', 'ai-positive-report-silent', 'report-positive-ai-negative', 'side-disagrees']);
export type DiscrepancyKind = z.infer<typeof discrepancyKindSchema>;

/** Per finding, how the final report and the AI compare (the `cxr_second_read_findings_total` outcome label). */
export const secondReadAgreementSchema = z.enum(['agree', 'discrepancy', 'indeterminate']);
export type SecondReadAgreement = z.infer<typeof secondReadAgreementSchema>;

export const discrepancyReviewOutcomeSchema = z.enum(['confirmed-miss', 'ai-wrong', 'not-clinically-relevant']);
export type DiscrepancyReviewOutcome = z.infer<typeof discrepancyReviewOutcomeSchema>;

export const discrepancyReviewSchema = z
  .object({
    outcome: discrepancyReviewOutcomeSchema,
    comment: z.string().max(2000).nullable(),
    reviewer: actorSchema,
    reviewedAt: isoDateTimeSchema,
  })
  .strict();
export type DiscrepancyReview = z.infer<typeof discrepancyReviewSchema>;

/** One item of the peer-review worklist, with its evidence. */
export const discrepancySchema = z
  .object({
    id: z.string().regex(/^[a-f0-9]{32}$/),
    studyInstanceUid: dicomUidSchema,
    finalReportId: z.string().regex(/^[a-f0-9]{32}$/),
    source: finalReportSourceSchema,
    code: z.string().min(1).max(64),
    display: z.string(),
    kind: discrepancyKindSchema,
    reportStatus: reportFindingStatusSchema,
    /** The sentence of the final report about the finding; null when it does not mention it. */
    reportSentence: z.string().max(2000).nullable(),
    evidence: z
      .object({
        sopInstanceUid: dicomUidSchema,
        probability: z.number().min(0).max(1),
        threshold: z.number().min(0).max(1),
        /** The raw heatmap and the colour overlay of the finding: signed, short-lived URLs. */
        heatmapUrl: z.string(),
        overlayUrl: z.string(),
      })
      .strict(),
    /** The report's status when the final report arrived (signed in our own flow, or a draft the RIS report overtook). */
    reportStatusAtArrival: reportStatusSchema,
    createdAt: isoDateTimeSchema,
    review: discrepancyReviewSchema.nullable(),
  })
  .strict();
export type Discrepancy = z.infer<typeof discrepancySchema>;

/** `GET /api/discrepancies?status=open|reviewed&limit=&cursor=`, newest first. */
export const discrepancyListResponseSchema = z
  .object({ items: z.array(discrepancySchema), nextCursor: z.string().nullable() })
  .strict();
export type DiscrepancyListResponse = z.infer<typeof discrepancyListResponseSchema>;

/** `POST /api/discrepancies/{id}/review` (radiologist). */
export const discrepancyReviewRequestSchema = z
  .object({ outcome: discrepancyReviewOutcomeSchema, comment: z.string().max(2000).optional() })
  .strict();
export type DiscrepancyReviewRequest = z.infer<typeof discrepancyReviewRequestSchema>;

/** The answer to a final report taken in (HTTP 201, or 200 for a resend of one already taken in). */
export const finalReportResultSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    finalReportId: z.string().regex(/^[a-f0-9]{32}$/),
    duplicate: z.boolean(),
    findings: z.array(
      z
        .object({ code: z.string(), reportStatus: reportFindingStatusSchema, agreement: secondReadAgreementSchema })
        .strict(),
    ),
    discrepancies: z.array(discrepancySchema),
  })
  .strict();
export type FinalReportResult = z.infer<typeof finalReportResultSchema>;
