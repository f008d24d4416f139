import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { discrepancyReviewRequestSchema, finalReportSubmissionSchema, FINAL_REPORT_MAX_CHARS, type FinalReportResult } from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import { actorOf, principalOf, type HttpAuth } from '../auth/index.ts';
import { FhirFinalReportError, readFhirDiagnosticReport } from '../second-read/fhir-final-report.ts';
import type { SecondReadService } from '../second-read/second-read-service.ts';

/**
 * The second read over HTTP:
 * - `POST /api/studies/{uid}/final-report` (integration): a final report as `text/plain` or as a
 *   FHIR DiagnosticReport (`application/fhir+json` or `application/json`);
 * - `POST /fhir/DiagnosticReport` (integration): a FHIR R4 DiagnosticReport naming its study;
 *   errors come back as an OperationOutcome;
 * - `POST /api/final-reports` (integration): the contract's `finalReportSubmissionSchema` JSON
 *   (ingest hands over the text of a DICOM SR this way);
 * - `GET /api/discrepancies?status=open|reviewed&limit=&cursor=` (radiologist, admin): the
 *   peer-review worklist, newest first;
 * - `POST /api/discrepancies/{id}/review` (radiologist): confirmed-miss, ai-wrong or not-clinically-relevant.
 * 201 for a report taken in, 200 for a resend of one already taken in.
 */

export interface SecondReadRoutesDeps {
  auth: HttpAuth;
  service: SecondReadService;
  /** Largest request body (REPORT_FINAL_REPORT_MAX_BYTES). */
  maxBodyBytes: number;
}

export const DISCREPANCIES_DEFAULT_LIMIT = 50;
export const DISCREPANCIES_MAX_LIMIT = 200;

const FHIR_TYPES = ['application/fhir+json', 'application/json'];

export function secondReadRoutes(deps: SecondReadRoutesDeps): Router {
  const { auth, service, maxBodyBytes } = deps;
  const router = express.Router();
  const text = express.text({ type: 'text/plain', limit: maxBodyBytes });
  const fhirJson = express.json({ type: FHIR_TYPES, limit: maxBodyBytes });
  const json = express.json({ limit: maxBodyBytes });

  router.post('/api/studies/:studyInstanceUid/final-report', auth.require('integration'), text, fhirJson, async (req, res) => {
    const uid = req.params.studyInstanceUid as string;
    const actor = actorOf(principalOf(res));
    let submission;
    if (req.is('text/plain')) {
      const body = typeof req.body === 'string' ? req.body : '';
      if (body.trim() === '') throw new HttpError(400, 'empty-report', 'the report text is empty');
      if (body.length > FINAL_REPORT_MAX_CHARS) throw new HttpError(413, 'report-too-long', `the report text is longer than ${FINAL_REPORT_MAX_CHARS} characters`);
      submission = parsedSubmission({ source: 'api', studyInstanceUid: uid, text: body });
    } else if (req.is(FHIR_TYPES)) {
      submission = fhirSubmission(req.body, uid);
    } else {
      throw new HttpError(415, 'unsupported-media-type', 'send text/plain or application/fhir+json');
    }
    sendResult(res, await service.takeIn(submission, actor));
  });

  router.post('/fhir/DiagnosticReport', auth.require('integration'), fhirJson, async (req, res) => {
    if (!req.is(FHIR_TYPES)) throw new HttpError(415, 'unsupported-media-type', 'send application/fhir+json');
    sendResult(res, await service.takeIn(fhirSubmission(req.body), actorOf(principalOf(res))));
  });

  router.post('/api/final-reports', auth.require('integration'), json, async (req, res) => {
    sendResult(res, await service.takeIn(parsedSubmission(req.body), actorOf(principalOf(res))));
  });

  router.get('/api/discrepancies', auth.require('radiologist', 'admin'), async (req, res) => {
    const params = req.query as Record<string, unknown>;
    const status = single(params, 'status') ?? 'open';
    if (status !== 'open' && status !== 'reviewed') throw new HttpError(400, 'invalid-status', 'status is open or reviewed');
    const limitRaw = single(params, 'limit');
    let limit = DISCREPANCIES_DEFAULT_LIMIT;
    if (limitRaw !== undefined) {
      if (!/^[1-9][0-9]{0,3}$/.test(limitRaw) || Number(limitRaw) > DISCREPANCIES_MAX_LIMIT) {
        throw new HttpError(400, 'invalid-limit', `limit must be an integer from 1 to ${DISCREPANCIES_MAX_LIMIT}`);
      }
      limit = Number(limitRaw);
    }
    const cursor = single(params, 'cursor') || null;
    res.set('Cache-Control', 'private, no-store').json(await service.list(status, limit, cursor));
  });

  router.post('/api/discrepancies/:id/review', auth.require('radiologist'), json, async (req, res) => {
    const parsed = discrepancyReviewRequestSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid-request', `the request body is not valid: ${issuesOf(parsed.error.issues)}`);
    res.set('Cache-Control', 'private, no-store').json(await service.review(req.params.id as string, parsed.data, actorOf(principalOf(res))));
  });

  // FHIR clients read errors as an OperationOutcome: the errors of /fhir routes become one.
  router.use('/fhir', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!(error instanceof HttpError) && !isClientError(error)) return next(error);
    const status = error instanceof HttpError ? error.status : (error as { status: number }).status;
    const message = error instanceof Error ? error.message : 'invalid request';
    res.status(status).type('application/fhir+json').json({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: status === 404 ? 'not-found' : status === 413 ? 'too-costly' : status >= 500 ? 'transient' : 'invalid', diagnostics: message }],
    });
  });

  return router;
}

function isClientError(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function fhirSubmission(body: unknown, studyInstanceUid?: string) {
  try {
    return readFhirDiagnosticReport(body, studyInstanceUid ? { studyInstanceUid } : {});
  } catch (error) {
    if (error instanceof FhirFinalReportError) throw new HttpError(400, 'invalid-diagnostic-report', error.message);
    throw error;
  }
}

function parsedSubmission(body: unknown) {
  const parsed = finalReportSubmissionSchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, 'invalid-request', `the final report is not valid: ${issuesOf(parsed.error.issues)}`);
  return parsed.data;
}

function issuesOf(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}

function sendResult(res: Response, result: FinalReportResult): void {
  res.status(result.duplicate ? 200 : 201).set('Cache-Control', 'no-store').json(result);
}

function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `invalid-${name}`, `${name} may be given once`);
  return value;
}
