import { pipeline } from 'node:stream/promises';
import express, { type Response, type Router } from 'express';
import { analysisResultSchema, dicomUidSchema, findingHeatmapPng } from '@cxr/contracts';
import { HttpError, ObjectNotFoundError, TransientError, type ObjectStore } from '@cxr/platform';
import { READ_ROLES, type HttpAuth } from '../auth/index.ts';
import type { ReportService, StoredImage } from '../review/report-service.ts';

/**
 * Images a report links to, for `<img src>`: a bearer token or a signed URL (as the report's
 * URLs are) lets them through.
 * - `/api/studies/:uid/report/findings/:code/overlay.png?sopInstanceUid=` (reports bucket) and
 *   `.../heatmap.png` (derived bucket: the finding's PNG, taken out of the analysis result where it is
 *   inline, or its own object for older analyses): `sopInstanceUid` may be left out when one image has the finding.
 * - `/api/studies/:uid/images/:sopInstanceUid/preview.png`: the 8-bit grey preview (derived bucket).
 */

export interface ReportImageRoutesDeps {
  auth: HttpAuth;
  service: ReportService;
  objects: ObjectStore;
}

const FINDING_CODE = /^[A-Za-z0-9._-]{1,64}$/;

export function reportImageRoutes(deps: ReportImageRoutesDeps): Router {
  const { auth, service, objects } = deps;
  const router = express.Router();

  for (const kind of ['overlay', 'heatmap'] as const) {
    router.get(`/api/studies/:studyInstanceUid/report/findings/:code/${kind}.png`, auth.requireOrSignedUrl(...READ_ROLES), async (req, res) => {
      const code = req.params.code as string;
      if (!FINDING_CODE.test(code)) throw new HttpError(400, 'invalid-finding-code', 'the finding code is malformed');
      const wanted = typeof req.query.sopInstanceUid === 'string' ? req.query.sopInstanceUid : undefined;
      await sendPng(res, objects, await service.findingImage(req.params.studyInstanceUid as string, code, wanted, kind), kind);
    });
  }

  router.get('/api/studies/:studyInstanceUid/images/:sopInstanceUid/preview.png', auth.requireOrSignedUrl(...READ_ROLES), async (req, res) => {
    const sopInstanceUid = req.params.sopInstanceUid as string;
    if (!dicomUidSchema.safeParse(sopInstanceUid).success) throw new HttpError(400, 'invalid-sop-instance-uid', 'the SOP instance UID is not a valid DICOM UID');
    await sendPng(res, objects, await service.previewImage(req.params.studyInstanceUid as string, sopInstanceUid), 'preview');
  });

  return router;
}

async function sendPng(res: Response, objects: ObjectStore, image: StoredImage, what: string): Promise<void> {
  if (image.inResult) {
    const png = await inlineHeatmap(objects, image, image.inResult);
    res.status(200).set({ 'Content-Type': 'image/png', 'Cache-Control': 'private, no-cache' }).send(png);
    return;
  }
  let stream;
  try {
    stream = await objects.getStream(image.bucket, image.key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new HttpError(404, `${what}-not-found`, `the ${what} image is missing`);
    throw error;
  }
  res.status(200).set({ 'Content-Type': 'image/png', 'Cache-Control': 'private, no-cache' });
  await pipeline(stream, res);
}

/** A finding's heatmap PNG out of the analysis result that holds it inline. */
async function inlineHeatmap(objects: ObjectStore, image: StoredImage, which: { instanceKey: string; code: string }): Promise<Buffer> {
  let raw: unknown;
  try {
    raw = await objects.getJson(image.bucket, image.key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new HttpError(404, 'heatmap-not-found', 'the heatmap image is missing');
    // The storage error's message names the key (which holds the study key): keep it out of the log.
    throw new TransientError(`reading an analysis result failed (${error instanceof Error ? error.name : 'error'})`);
  }
  const parsed = analysisResultSchema.safeParse(raw);
  const finding = parsed.success
    ? parsed.data.images.find((i) => i.instanceKey === which.instanceKey)?.findings.find((f) => f.code === which.code)
    : undefined;
  const png = finding ? findingHeatmapPng(finding) : null;
  if (!png) throw new HttpError(404, 'heatmap-not-found', 'the heatmap image is missing');
  return png;
}
