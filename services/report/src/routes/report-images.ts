import { pipeline } from 'node:stream/promises';
import express, { type Response, type Router } from 'express';
import { dicomUidSchema } from '@cxr/contracts';
import { HttpError, ObjectNotFoundError, type ObjectStore } from '@cxr/platform';
import { readHeatmapPng } from '../exports/finding-heatmaps.ts';
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
    const png = await readHeatmapPng(objects, image);
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
