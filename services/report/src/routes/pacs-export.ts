import express, { type Router } from 'express';
import { pacsExportQueuedResponseSchema, pacsExportRequestSchema } from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import { actorOf, principalOf, READ_ROLES, type HttpAuth } from '../auth/index.ts';
import type { PacsExportQueue } from '../exports/pacs-export-queue.ts';
import { checkIfMatch } from '../review/etag.ts';
import type { ReportService } from '../review/report-service.ts';

/**
 * Sending a report to the PACS (`/api/studies/:studyInstanceUid/report/export/pacs`):
 * - `POST` (radiologist, integration): queue the export of the report shown now → 202
 *   `{ jobId, state }`. Body `{ "allowDraft": true }` sends an unsigned draft too (default: signed
 *   reports only, 409 `report-not-signed`); 409 `nothing-to-export` while pending/failed/not
 *   eligible. `If-Match` is optional: when sent, it must be the report's current ETag (412
 *   otherwise), so a client can say "the report I am looking at".
 * - `GET` (read roles): the latest export's state (queued, sending, retrying, delivered, failed);
 *   404 `no-pacs-export` when none was asked for.
 * Both answer 503 `pacs-not-configured` when `REPORT_PACS_STOW_URL` is empty. The work is in
 * exports/pacs-export-queue.ts (queuing) and workers/pacs-export.ts (sending).
 */

export interface PacsExportRoutesDeps {
  auth: HttpAuth;
  service: Pick<ReportService, 'loadReportView'>;
  /** Undefined when no PACS is configured. */
  exports: PacsExportQueue | undefined;
}

const PATH = '/api/studies/:studyInstanceUid/report/export/pacs';

export function pacsExportRoutes(deps: PacsExportRoutesDeps): Router {
  const { auth, service } = deps;
  const router = express.Router();

  function configured(): PacsExportQueue {
    if (!deps.exports) throw new HttpError(503, 'pacs-not-configured', 'no PACS is configured: set REPORT_PACS_STOW_URL to its DICOMweb base to send reports to it');
    return deps.exports;
  }

  router.post(PATH, auth.require('radiologist', 'integration'), express.json({ limit: '16kb' }), async (req, res) => {
    const exports = configured();
    const parsed = pacsExportRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      throw new HttpError(400, 'invalid-request', `the request body is not valid: ${problems.join('; ')}`);
    }
    const view = await service.loadReportView(String(req.params.studyInstanceUid));
    if (checkIfMatch(req.get('If-Match'), view.response.etag) === 'mismatch') {
      res.set('ETag', view.response.etag);
      throw new HttpError(412, 'precondition-failed', 'the report changed since it was read (If-Match does not match its ETag): reload it and ask again');
    }
    const queued = await exports.request(view, actorOf(principalOf(res)), parsed.data.allowDraft);
    res.status(202).set('Cache-Control', 'no-store').json(pacsExportQueuedResponseSchema.parse(queued));
  });

  router.get(PATH, auth.require(...READ_ROLES), async (req, res) => {
    const exports = configured();
    const view = await service.loadReportView(String(req.params.studyInstanceUid));
    const status = await exports.latest(view);
    if (!status) throw new HttpError(404, 'no-pacs-export', 'this report has not been sent to the PACS');
    res.set('Cache-Control', 'private, no-cache').json(status);
  });

  return router;
}
