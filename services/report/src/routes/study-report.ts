import { pipeline } from 'node:stream/promises';
import express, { type Router } from 'express';
import { dicomUidSchema, reportResponseSchema } from '@cxr/contracts';
import { HttpError, ObjectNotFoundError, type ObjectStore } from '@cxr/platform';
import type { ReportConfig } from '../config.ts';
import { reportStatusOf, type ReportRevision, type ReportState } from '../state/report-state.ts';
import type { ReportStore } from '../state/report-store.ts';
import { buildReportResponse, findingsWithUids } from './report-view.ts';

/**
 * `GET /api/studies/:studyInstanceUid/report` and the finding images it links to:
 * `.../report/findings/:code/overlay.png` (reports bucket) and `.../heatmap.png` (derived bucket),
 * each with `?sopInstanceUid=` to pick the image (optional when only one image has the finding).
 * Looks the study up in the Redis index, then reads state and draft from object storage.
 */

export interface StudyReportRoutesDeps {
  config: Pick<ReportConfig, 'publicUrl' | 'buckets'>;
  objects: ObjectStore;
  reports: ReportStore;
}

const FINDING_CODE = /^[A-Za-z0-9._-]{1,64}$/;

export function studyReportRoutes(deps: StudyReportRoutesDeps): Router {
  const { config, objects, reports } = deps;
  const router = express.Router();

  async function loadReport(studyInstanceUid: string): Promise<{ state: ReportState; revision: ReportRevision | null }> {
    if (!dicomUidSchema.safeParse(studyInstanceUid).success) {
      throw new HttpError(400, 'invalid-study-instance-uid', 'the study instance UID is not a valid DICOM UID');
    }
    const entry = await reports.lookup(studyInstanceUid);
    // An index entry without its state object: the index is ahead of a wiped bucket; treat as unknown.
    const state = entry ? await reports.readState(entry.studyKey) : null;
    if (!state) throw new HttpError(404, 'study-not-found', 'no report is known for this study');
    const { status } = reportStatusOf(state);
    const revision = status === 'draft' && state.analysis?.outcome === 'completed' ? await reports.readRevision(state.studyKey, state.analysis.revision) : null;
    return { state, revision };
  }

  router.get('/api/studies/:studyInstanceUid/report', async (req, res) => {
    const { studyInstanceUid } = req.params;
    const { state, revision } = await loadReport(studyInstanceUid);
    // Parsing what we send keeps the service honest to the contract.
    const body = reportResponseSchema.parse(buildReportResponse(state, studyInstanceUid, revision, config.publicUrl));
    res.set('Cache-Control', 'private, no-cache').json(body);
  });

  for (const kind of ['overlay', 'heatmap'] as const) {
    router.get(`/api/studies/:studyInstanceUid/report/findings/:code/${kind}.png`, async (req, res) => {
      const { studyInstanceUid, code } = req.params;
      const { state, revision } = await loadReport(studyInstanceUid);
      if (!FINDING_CODE.test(code)) throw new HttpError(400, 'invalid-finding-code', 'the finding code is malformed');
      const wanted = typeof req.query.sopInstanceUid === 'string' ? req.query.sopInstanceUid : undefined;
      const matches = revision ? findingsWithUids(state, revision).filter((f) => f.code === code && (wanted === undefined || f.sopInstanceUid === wanted)) : [];
      if (matches.length === 0) throw new HttpError(404, 'finding-not-found', 'the current draft has no such finding');
      if (matches.length > 1) throw new HttpError(400, 'sop-instance-uid-required', 'several images have this finding: add ?sopInstanceUid=');
      const finding = matches[0]!;
      const [bucket, key] = kind === 'overlay' ? [config.buckets.reports, finding.overlayKey] : [config.buckets.derived, finding.heatmapKey];
      let stream;
      try {
        stream = await objects.getStream(bucket, key);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) throw new HttpError(404, `${kind}-not-found`, `the ${kind} image is missing`);
        throw error;
      }
      res.status(200).set({ 'Content-Type': 'image/png', 'Cache-Control': 'private, no-cache' });
      await pipeline(stream, res);
    });
  }

  return router;
}
