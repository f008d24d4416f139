import express, { type Request, type Response, type Router } from 'express';
import { reportAddendumRequestSchema, reportEditRequestSchema, reportSignRequestSchema, type ReportResponse } from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import type { z } from 'zod';
import { actorOf, principalOf, READ_ROLES, type HttpAuth } from '../auth/index.ts';
import { PreconditionFailedError, type ReportService } from '../review/report-service.ts';

/**
 * The report of a study, `/api/studies/:studyInstanceUid/report`:
 * - `GET` (READ_ROLES): the report (`reportResponseSchema`, ETag header); audited as a view.
 * - `PUT` (radiologist, If-Match): edit the draft's sections and finding decisions.
 * - `POST .../sign`, `POST .../addenda` (radiologist, If-Match).
 * - `GET .../audit` (admin, radiologist), `GET .../revisions`, `GET .../revisions/:n` (READ_ROLES).
 * The work is in review/report-service.ts; this file parses requests and sends answers.
 */

export interface StudyReportRoutesDeps {
  auth: HttpAuth;
  service: ReportService;
}

const BASE = '/api/studies/:studyInstanceUid/report';

export function studyReportRoutes(deps: StudyReportRoutesDeps): Router {
  const { auth, service } = deps;
  const router = express.Router();
  const json = express.json({ limit: '256kb' });

  router.get(BASE, auth.require(...READ_ROLES), async (req, res) => {
    sendReport(res, await service.viewReport(req.params.studyInstanceUid as string, actorOf(principalOf(res))));
  });

  router.put(BASE, auth.require('radiologist'), json, async (req, res) => {
    const edit = parseBody(reportEditRequestSchema, req.body);
    const report = await withEtagOnConflict(res, service.editReport(req.params.studyInstanceUid as string, ifMatchOf(req), edit, actorOf(principalOf(res))));
    sendReport(res, report);
  });

  router.post(`${BASE}/sign`, auth.require('radiologist'), json, async (req, res) => {
    // An empty body is a sign request without an attestation.
    const request = parseBody(reportSignRequestSchema, req.body ?? {});
    const report = await withEtagOnConflict(res, service.signReport(req.params.studyInstanceUid as string, ifMatchOf(req), request, actorOf(principalOf(res))));
    sendReport(res, report);
  });

  router.post(`${BASE}/addenda`, auth.require('radiologist'), json, async (req, res) => {
    const request = parseBody(reportAddendumRequestSchema, req.body);
    const report = await withEtagOnConflict(res, service.addAddendum(req.params.studyInstanceUid as string, ifMatchOf(req), request, actorOf(principalOf(res))));
    sendReport(res.status(201), report);
  });

  router.get(`${BASE}/audit`, auth.require('admin', 'radiologist'), async (req, res) => {
    res.set('Cache-Control', 'private, no-store').json(await service.auditTrail(req.params.studyInstanceUid as string));
  });

  router.get(`${BASE}/revisions`, auth.require(...READ_ROLES), async (req, res) => {
    res.set('Cache-Control', 'private, no-cache').json(await service.listRevisions(req.params.studyInstanceUid as string));
  });

  router.get(`${BASE}/revisions/:revision`, auth.require(...READ_ROLES), async (req, res) => {
    const raw = req.params.revision as string;
    if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new HttpError(400, 'invalid-revision', 'the revision must be a positive integer');
    // Revisions never change: cacheable by the browser.
    res.set('Cache-Control', 'private, max-age=3600').json(await service.getRevision(req.params.studyInstanceUid as string, Number(raw)));
  });

  return router;
}

function sendReport(res: Response, report: ReportResponse): void {
  res.set({ ETag: report.etag, 'Cache-Control': 'private, no-cache' }).json(report);
}

function ifMatchOf(req: Request): string | undefined {
  return req.get('If-Match');
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new HttpError(400, 'invalid-request', `the request body is not valid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** A 412 carries the report's current ETag, so the client can tell it changed (and reload). */
async function withEtagOnConflict<T>(res: Response, pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof PreconditionFailedError) res.set('ETag', error.etag);
    throw error;
  }
}
