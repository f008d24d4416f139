import { z } from 'zod';
import {
  discrepancyListResponseSchema,
  discrepancyReviewRequestSchema,
  discrepancySchema,
  FINAL_REPORT_MAX_CHARS,
  finalReportResultSchema,
  finalReportSubmissionSchema,
  apiErrorSchema,
  auditTrailResponseSchema,
  pacsExportQueuedResponseSchema,
  pacsExportRequestSchema,
  pacsExportStatusResponseSchema,
  modelPerformanceResponseSchema,
  reportAddendumRequestSchema,
  reportEditRequestSchema,
  reportResponseSchema,
  reportSignRequestSchema,
  reportUpdatedEventSchema,
  revisionListResponseSchema,
  revisionResponseSchema,
  roleSchema,
  worklistResponseSchema,
} from '@cxr/contracts';

/**
 * The OpenAPI 3.1 document of the review API, served at `/api/openapi.json`.
 *
 * Bodies come from the same zod schemas the service validates with (`@cxr/contracts`), turned
 * into JSON Schema 2020-12 (what OpenAPI 3.1 uses), so the document cannot drift from the code
 * on shapes; a test checks that every route the app serves is described here, and back.
 */

type JsonSchema = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const error = (description: string) => ({ description, content: json('ApiError') });

const studyUid = { name: 'studyInstanceUid', in: 'path', required: true, description: 'Study Instance UID', schema: { type: 'string', pattern: '^[0-9.]{1,64}$' } };
const sopUid = (where: 'path' | 'query', required: boolean) => ({ name: 'sopInstanceUid', in: where, required, description: 'SOP Instance UID of the image', schema: { type: 'string' } });
const ifMatch = { name: 'If-Match', in: 'header', required: true, description: 'The `etag` of the revision being changed (from the last read).', schema: { type: 'string' } };
const signedUrlParams = [
  { name: 'expires', in: 'query', required: false, description: 'Signed URL: expiry (Unix seconds).', schema: { type: 'integer' } },
  { name: 'signature', in: 'query', required: false, description: 'Signed URL: HMAC signature.', schema: { type: 'string' } },
];
const etagHeader = { ETag: { description: 'Strong entity tag of the current revision.', schema: { type: 'string' } } };

const common = {
  '401': error('No or an invalid bearer token.'),
  '403': error('The token lacks a role this needs.'),
};
const reportErrors = { ...common, '400': error('Malformed UID or parameter.'), '404': error('Unknown study.') };
const changeErrors = {
  ...reportErrors,
  '409': error('Not possible in the report\'s state (e.g. editing a signed report: add an addendum).'),
  '412': error('Stale `If-Match`: the report changed since it was read; nothing was changed.'),
  '428': error('`If-Match` is required.'),
};
const png = (description: string) => ({ description, content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } });
const dicom = (description: string) => ({ description, content: { 'application/dicom': { schema: { type: 'string', format: 'binary' } } } });
const readers = roleSchema.options.join(', ');

/** Version of the review API (not of the service): bump on incompatible changes. */
export const REVIEW_API_VERSION = '1.0.0';

export function buildOpenApiDocument(options: { serverUrl: string; version?: string }): JsonSchema {
  const bearer = [{ bearer: [] }];
  const bearerOrSigned = [{ bearer: [] }, {}];
  return {
    openapi: '3.1.0',
    info: {
      title: 'CXR review API',
      version: options.version ?? REVIEW_API_VERSION,
      description:
        'Draft chest radiograph reports produced by an AI model, for radiologists to review, edit and sign. ' +
        'Every draft is AI-generated and unsigned until a radiologist signs it. The shipped model is a reference model ' +
        'trained on synthetic images only; not for clinical use.',
    },
    servers: [{ url: options.serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `Roles (claim configurable): ${readers}.` },
      },
      schemas: {
        ApiError: schema(apiErrorSchema, 'output'),
        Report: schema(reportResponseSchema, 'output'),
        ReportEditRequest: schema(reportEditRequestSchema, 'input'),
        ReportSignRequest: schema(reportSignRequestSchema, 'input'),
        ReportAddendumRequest: schema(reportAddendumRequestSchema, 'input'),
        Worklist: schema(worklistResponseSchema, 'output'),
        AuditTrail: schema(auditTrailResponseSchema, 'output'),
        RevisionList: schema(revisionListResponseSchema, 'output'),
        Revision: schema(revisionResponseSchema, 'output'),
        ReportUpdated: schema(reportUpdatedEventSchema, 'output'),
        PacsExportRequest: schema(pacsExportRequestSchema, 'input'),
        PacsExportQueued: schema(pacsExportQueuedResponseSchema, 'output'),
        PacsExportStatus: schema(pacsExportStatusResponseSchema, 'output'),
        FinalReportSubmission: schema(finalReportSubmissionSchema, 'input'),
        FinalReportResult: schema(finalReportResultSchema, 'output'),
        Discrepancy: schema(discrepancySchema, 'output'),
        DiscrepancyList: schema(discrepancyListResponseSchema, 'output'),
        DiscrepancyReviewRequest: schema(discrepancyReviewRequestSchema, 'input'),
        ModelPerformance: schema(modelPerformanceResponseSchema, 'output'),
      },
    },
    security: bearer,
    paths: {
      '/api/studies': {
        get: {
          summary: 'Worklist: reports by status and priority, urgent findings first',
          description: `Roles: ${readers}.`,
          parameters: [
            { name: 'status', in: 'query', description: 'Comma-separated statuses.', schema: { type: 'string' } },
            { name: 'priority', in: 'query', description: 'Comma-separated priorities (stat, urgent, routine).', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            { name: 'cursor', in: 'query', description: '`nextCursor` of the previous page.', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'A page of the worklist.', content: json('Worklist') }, '400': error('Malformed filter.'), ...common },
        },
      },
      '/api/studies/{studyInstanceUid}/report': {
        parameters: [studyUid],
        get: {
          summary: 'The study\'s report (AI draft, edited draft or signed report)',
          description: `Roles: ${readers}. Audited as a view. Image URLs inside are signed and short-lived.`,
          responses: { '200': { description: 'The report.', headers: etagHeader, content: json('Report') }, ...reportErrors },
        },
        put: {
          summary: 'Edit the draft: text and per-finding accept/reject',
          description: 'Role: radiologist. Makes a new revision.',
          parameters: [ifMatch],
          requestBody: { required: true, content: json('ReportEditRequest') },
          responses: { '200': { description: 'The edited report.', headers: etagHeader, content: json('Report') }, ...changeErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/sign': {
        parameters: [studyUid],
        post: {
          summary: 'Sign the report: final and immutable from now on',
          description: 'Role: radiologist. Every positive AI finding needs an accept/reject decision first.',
          parameters: [ifMatch],
          requestBody: { required: false, content: json('ReportSignRequest') },
          responses: {
            '200': { description: 'The signed report.', headers: etagHeader, content: json('Report') },
            '422': error('Positive AI findings without a decision.'),
            ...changeErrors,
          },
        },
      },
      '/api/studies/{studyInstanceUid}/report/addenda': {
        parameters: [studyUid],
        post: {
          summary: 'Add an addendum to a signed report',
          description: 'Role: radiologist.',
          parameters: [ifMatch],
          requestBody: { required: true, content: json('ReportAddendumRequest') },
          responses: { '200': { description: 'The report with the addendum.', headers: etagHeader, content: json('Report') }, ...changeErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/revisions': {
        parameters: [studyUid],
        get: { summary: 'Every revision of the report', description: `Roles: ${readers}.`, responses: { '200': { description: 'Revisions, oldest first.', content: json('RevisionList') }, ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/revisions/{revision}': {
        parameters: [studyUid, { name: 'revision', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
        get: {
          summary: 'One revision: its text, decisions, signature and addenda at that point',
          description: `Roles: ${readers}.`,
          responses: { '200': { description: 'The revision.', content: json('Revision') }, ...reportErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/audit': {
        parameters: [studyUid],
        get: { summary: 'Append-only audit trail: who viewed, edited, signed, exported', description: 'Roles: admin, radiologist.', responses: { '200': { description: 'Entries, oldest first.', content: json('AuditTrail') }, ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/findings/{code}/overlay.png': {
        parameters: [studyUid, { name: 'code', in: 'path', required: true, schema: { type: 'string' } }, sopUid('query', false), ...signedUrlParams],
        get: { summary: 'Colour-mapped heatmap over the image, with a legend', security: bearerOrSigned, responses: { '200': png('Overlay PNG.'), ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/findings/{code}/heatmap.png': {
        parameters: [studyUid, { name: 'code', in: 'path', required: true, schema: { type: 'string' } }, sopUid('query', false), ...signedUrlParams],
        get: { summary: 'The raw heatmap (8-bit grey)', security: bearerOrSigned, responses: { '200': png('Heatmap PNG.'), ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/images/{sopInstanceUid}/preview.png': {
        parameters: [studyUid, sopUid('path', true), ...signedUrlParams],
        get: { summary: 'Grey preview of an analysed image (what overlays are drawn on)', security: bearerOrSigned, responses: { '200': png('Preview PNG.'), ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/fhir': {
        parameters: [studyUid],
        get: {
          summary: 'FHIR R4 DiagnosticReport (preliminary while unsigned, final once signed) with an Observation per finding',
          description: `Roles: ${readers}. Audited as an export.`,
          responses: { '200': { description: 'DiagnosticReport.', content: { 'application/fhir+json': { schema: { type: 'object' } } } }, ...reportErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/sr': {
        parameters: [studyUid],
        get: { summary: 'DICOM Structured Report of the findings', description: `Roles: ${readers}. Audited as an export.`, responses: { '200': dicom('DICOM SR (Part 10 file).'), ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/overlays/{sopInstanceUid}/{code}.dcm': {
        parameters: [studyUid, sopUid('path', true), { name: 'code', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'A finding\'s overlay as a DICOM Secondary Capture image referencing the source image', description: `Roles: ${readers}. Audited as an export.`, responses: { '200': dicom('DICOM Secondary Capture.'), ...reportErrors } },
      },
      '/api/studies/{studyInstanceUid}/report/ai-results/sr': {
        parameters: [studyUid],
        get: {
          summary: 'The AI findings as a DICOM TID 1500 Measurement Report (the model as observer device, a region per finding, probability and presence)',
          description: `Roles: ${readers}. Audited as an export. 409 \`no-ai-results\` when the report has no AI findings. See docs/ihe-air.md.`,
          responses: { '200': dicom('Comprehensive SR, TID 1500 (Part 10 file).'), ...reportErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/ai-results/pmap': {
        parameters: [studyUid],
        get: {
          summary: 'The AI heatmaps as a DICOM Parametric Map per image (float probabilities on the image grid)',
          description: `Roles: ${readers}. Audited as an export. One Part 10 file, or \`multipart/related; type="application/dicom"\` with one per image when several images have findings.`,
          responses: { '200': dicom('Parametric Map (Part 10 file), or multipart/related of them.'), ...reportErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/ai-results/seg': {
        parameters: [
          studyUid,
          {
            name: 'type',
            in: 'query',
            required: false,
            description: '`fractional` (default): probability x 255, one segment per finding. `binary`: one 1-bit segment per finding called present, set where its map reaches its operating threshold (for viewers that draw only binary SEGs). Another value: 400 `invalid-seg-type`.',
            schema: { type: 'string', enum: ['fractional', 'binary'] },
          },
        ],
        get: {
          summary: 'The AI heatmaps as a DICOM Segmentation per image: fractional (probability, every finding) or binary (the findings called present, at their thresholds)',
          description: `Roles: ${readers}. Audited as an export. One Part 10 file, or \`multipart/related; type="application/dicom"\` with one per image when several images have findings (binary: images with a finding called present that has an area at its threshold; 409 \`no-ai-results\` when none has).`,
          responses: { '200': dicom('Segmentation (Part 10 file), or multipart/related of them.'), ...reportErrors },
        },
      },
      '/api/studies/{studyInstanceUid}/report/export/pacs': {
        parameters: [studyUid],
        post: {
          summary: 'Send the report to the PACS (STOW-RS): the objects REPORT_PACS_OBJECTS names (default: its DICOM SR and an overlay Secondary Capture per finding present)',
          description:
            'Roles: radiologist, integration. Queues the export of the report shown now; asking again while it is queued returns the same job, ' +
            'while it is held for a retry runs it now, and after it was delivered or failed sends it again (same UIDs: the PACS keeps one copy). ' +
            'Signed reports only unless `allowDraft` is true (then a PARTIAL/UNVERIFIED/PRELIMINARY SR). Delivery and failure are audited as exports.',
          parameters: [{ ...ifMatch, required: false, description: 'Optional: the `etag` of the report the caller is looking at (412 if it changed).' }],
          requestBody: { required: false, content: json('PacsExportRequest') },
          responses: {
            '202': { description: 'Queued (or already queued, sending or held).', content: json('PacsExportQueued') },
            '409': error('Nothing to send (pending, failed, not eligible) or an unsigned draft without `allowDraft`.'),
            '412': error('Stale `If-Match`.'),
            '503': error('No PACS is configured (`REPORT_PACS_STOW_URL`).'),
            ...reportErrors,
          },
        },
        get: {
          summary: 'The latest PACS export of the report: queued, sending, retrying (with the next attempt time), delivered or failed',
          description: `Roles: ${readers}.`,
          responses: {
            '200': { description: 'The export\'s state.', content: json('PacsExportStatus') },
            '404': error('Unknown study, or the report was never sent to the PACS.'),
            '503': error('No PACS is configured (`REPORT_PACS_STOW_URL`).'),
            ...common,
            '400': error('Malformed UID.'),
          },
        },
      },
      '/api/studies/{studyInstanceUid}/final-report': {
        parameters: [studyUid],
        post: {
          summary: 'Second read: take in the radiologist\'s final report of the study and compare it with the AI',
          description:
            'Role: integration. Body: the report as `text/plain`, or a FHIR R4 DiagnosticReport (`application/fhir+json`; status final, amended, ' +
            'corrected or appended; text from presentedForm text/plain or conclusion). Confident disagreements become discrepancies on the ' +
            'peer-review worklist. The study\'s own report is never changed. A resend of the same report answers 200 with `duplicate: true`.',
          requestBody: {
            required: true,
            content: { 'text/plain': { schema: { type: 'string', maxLength: FINAL_REPORT_MAX_CHARS } }, 'application/fhir+json': { schema: { type: 'object' } } },
          },
          responses: {
            '201': { description: 'Compared.', content: json('FinalReportResult') },
            '200': { description: 'Already taken in (a resend).', content: json('FinalReportResult') },
            '404': error('Unknown study.'),
            '409': error('The accession number belongs to another study.'),
            '413': error('Body over `REPORT_FINAL_REPORT_MAX_BYTES`.'),
            '415': error('Neither text/plain nor FHIR JSON.'),
            '422': error('The study has no AI findings to compare with (failed, not eligible, out of scope).'),
            '503': error('The study is not analysed yet, or storage is down: send again later.'),
            ...common,
            '400': error('Malformed UID, empty text or an invalid DiagnosticReport.'),
          },
        },
      },
      '/api/final-reports': {
        post: {
          summary: 'Second read: a final report naming its study by Study Instance UID and/or accession number (the contract\'s JSON)',
          description: 'Role: integration. Answers as `POST /api/studies/{uid}/final-report`.',
          requestBody: { required: true, content: json('FinalReportSubmission') },
          responses: {
            '201': { description: 'Compared.', content: json('FinalReportResult') },
            '200': { description: 'Already taken in.', content: json('FinalReportResult') },
            '400': error('Invalid body.'),
            '404': error('Unknown study or accession number.'),
            '409': error('The accession number belongs to another study.'),
            '422': error('No AI findings to compare with.'),
            '503': error('Not analysed yet, or storage down: retry.'),
            ...common,
          },
        },
      },
      '/fhir/DiagnosticReport': {
        post: {
          summary: 'Second read: a FHIR R4 DiagnosticReport naming its study (imagingStudy identifier urn:dicom:uid, or an ACSN accession identifier)',
          description: 'Role: integration. Errors come back as a FHIR OperationOutcome with the same status codes as `/api/final-reports`.',
          requestBody: { required: true, content: { 'application/fhir+json': { schema: { type: 'object' } } } },
          responses: {
            '201': { description: 'Compared.', content: json('FinalReportResult') },
            '200': { description: 'Already taken in.', content: json('FinalReportResult') },
            '400': { description: 'Not a usable DiagnosticReport.', content: { 'application/fhir+json': { schema: { type: 'object' } } } },
            '404': { description: 'Unknown study.', content: { 'application/fhir+json': { schema: { type: 'object' } } } },
            '413': { description: 'Body too large.', content: { 'application/fhir+json': { schema: { type: 'object' } } } },
            ...common,
          },
        },
      },
      '/api/discrepancies': {
        get: {
          summary: 'Peer-review worklist: discrepancies between final reports and the AI, newest first, with their evidence',
          description: 'Roles: radiologist, admin. Heatmap and overlay URLs inside are signed and short-lived.',
          parameters: [
            { name: 'status', in: 'query', description: 'open (default) or reviewed.', schema: { type: 'string', enum: ['open', 'reviewed'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
            { name: 'cursor', in: 'query', description: '`nextCursor` of the previous page.', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'A page of the worklist.', content: json('DiscrepancyList') }, '400': error('Malformed parameter.'), ...common },
        },
      },
      '/api/discrepancies/{id}/review': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-f0-9]{32}$' } }],
        post: {
          summary: 'Review a discrepancy: confirmed-miss, ai-wrong or not-clinically-relevant (once)',
          description: 'Role: radiologist. Audited (`discrepancy-review`) and counted (`cxr_second_read_reviews_total`).',
          requestBody: { required: true, content: json('DiscrepancyReviewRequest') },
          responses: {
            '200': { description: 'The reviewed discrepancy.', content: json('Discrepancy') },
            '400': error('Malformed id or body.'),
            '404': error('No such discrepancy.'),
            '409': error('Already reviewed.'),
            ...common,
          },
        },
      },
      '/api/events': {
        get: {
          summary: 'Server-sent events: `ready`, then `report-updated` (body: ReportUpdated) per change',
          description: `Roles: ${readers}. EventSource cannot send headers: the token may come as \`access_token\`.`,
          parameters: [
            { name: 'study', in: 'query', description: 'Only this Study Instance UID.', schema: { type: 'string' } },
            { name: 'status', in: 'query', description: 'Comma-separated statuses.', schema: { type: 'string' } },
            { name: 'access_token', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '400': error('Malformed filter.'), ...common },
        },
      },
      '/api/model-performance': {
        get: {
          summary: 'How each model version does on this site: positive rates, score histograms, out-of-scope and not-eligible shares, agreement with signing radiologists, shadow comparison, drift status',
          description: 'Roles: admin. Counts only (no study is named). Window: `window` (e.g. 7d, 24h, 90m) up to now, or `since`/`until` (ISO 8601); at most 92 days; default REPORT_DRIFT_WINDOW.',
          parameters: [
            { name: 'window', in: 'query', description: 'A duration up to now: 7d, 24h, 90m.', schema: { type: 'string' } },
            { name: 'since', in: 'query', description: 'Start (ISO 8601 date or date-time).', schema: { type: 'string' } },
            { name: 'until', in: 'query', description: 'End (ISO 8601; default now).', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'Per model version and finding.', content: json('ModelPerformance') }, '400': error('Malformed or too long a window.'), ...common },
        },
      },
      '/api/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
    },
  };
}
