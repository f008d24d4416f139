import express, { type Response, type Router } from 'express';
import { dicomUidSchema, type AuditEntry, type ReportResponse } from '@cxr/contracts';
import { encodeMultipartRelated, HttpError, ObjectNotFoundError, TransientError, type ObjectStore } from '@cxr/platform';
import { actorOf, principalOf, READ_ROLES, type HttpAuth } from '../auth/index.ts';
import { UnsizedSourceImageError } from '../exports/ai-results.ts';
import { toDicomSr } from '../exports/dicom-sr.ts';
import { readImageHeatmaps } from '../exports/finding-heatmaps.ts';
import { toMeasurementReport } from '../exports/measurement-report.ts';
import { toParametricMap } from '../exports/parametric-map.ts';
import { SEGMENTATION_KINDS, toBinarySegmentation, toSegmentation, type SegmentationInput } from '../exports/segmentation.ts';
import { toFhirDiagnosticReport, type FhirExportOptions } from '../exports/fhir-diagnostic-report.ts';
import { isExportable, NothingToExportError } from '../exports/report-content.ts';
import { OverlaySourceMissingError, toOverlaySecondaryCapture } from '../exports/secondary-capture.ts';
import { readSourceStudy, SourceStudyNotFoundError, type SourceStudy } from '../exports/source-study.ts';
import type { StoredImage } from '../review/report-service.ts';

/**
 * Standard outputs of a report, for the hospital's systems:
 *
 * - `GET /api/studies/:uid/report/fhir`: FHIR R4 DiagnosticReport (`application/fhir+json`);
 * - `GET /api/studies/:uid/report/sr`: DICOM Comprehensive SR (`application/dicom`, as a download);
 * - `GET /api/studies/:uid/report/overlays/:sopInstanceUid/:code.dcm`: a finding's overlay as a
 *   DICOM Secondary Capture image;
 * - `GET /api/studies/:uid/report/ai-results/sr`: the AI findings as a TID 1500 Measurement Report;
 * - `GET /api/studies/:uid/report/ai-results/pmap` and `.../seg`: the heatmaps as a Parametric Map
 *   or a fractional Segmentation per image (one Part 10 file, or `multipart/related` of them when
 *   several images have findings); `.../seg?type=binary`: a binary Segmentation per image with a
 *   finding called present, each thresholded at its operating point (for viewers that draw only
 *   binary SEGs).
 *
 * Any reading role may export (integration systems among them). Each export is recorded in the
 * study's audit trail as `export` before its body is sent; an export that cannot be recorded is
 * not sent. Patient and study attributes come from the original DICOM (originals bucket): the
 * bodies carry identifiers, nothing here logs them.
 */

export interface ExportRoutesDeps {
  auth: HttpAuth;
  objects: ObjectStore;
  config: { buckets: { originals: string } };
  /** The report as the API shows it and the study's key; throws HttpError 404 for an unknown study. */
  loadReportView(studyInstanceUid: string): Promise<{ response: ReportResponse; studyKey: string }>;
  recordAudit(studyKey: string, entry: AuditEntry): Promise<void>;
  /** Where a finding's overlay or heatmap PNG is stored (the report service's `findingImage`); HttpError 404 when there is none. */
  findingImage(studyInstanceUid: string, code: string, sopInstanceUid: string | undefined, kind: 'overlay' | 'heatmap'): Promise<StoredImage>;
  fhir?: FhirExportOptions;
  /** Verifying Organization written into signed SR documents. */
  organization?: string;
  now?: () => Date;
}

const FINDING_CODE = /^[A-Za-z0-9._-]{1,64}$/;

function requireUid(value: string, what: string): void {
  if (!dicomUidSchema.safeParse(value).success) throw new HttpError(400, `invalid-${what}`, `the ${what.replaceAll('-', ' ')} is not a valid DICOM UID`);
}

export function exportRoutes(deps: ExportRoutesDeps): Router {
  const { auth, objects, config } = deps;
  const now = deps.now ?? (() => new Date());
  const router = express.Router();

  /** The report (which must have a draft or be signed) and the source study it is about. */
  async function loadExportable(studyInstanceUid: string): Promise<{ report: ReportResponse; studyKey: string; source: SourceStudy }> {
    requireUid(studyInstanceUid, 'study-instance-uid');
    const { response, studyKey } = await deps.loadReportView(studyInstanceUid);
    if (!isExportable(response)) {
      throw new HttpError(409, 'nothing-to-export', `the report is ${response.status}: there is no draft or signed report to export yet`);
    }
    try {
      return { report: response, studyKey, source: await readSourceStudy(objects, config.buckets.originals, studyInstanceUid) };
    } catch (error) {
      if (error instanceof SourceStudyNotFoundError) throw new HttpError(404, 'originals-not-found', 'the original DICOM of the study is no longer stored');
      throw error;
    }
  }

  async function audit(res: Response, studyKey: string, report: ReportResponse, detail: string): Promise<void> {
    const entry: AuditEntry = { at: now().toISOString(), actor: actorOf(principalOf(res)), action: 'export', revision: report.revision, detail };
    await deps.recordAudit(studyKey, entry);
  }

  function sendDicom(res: Response, bytes: Buffer, filename: string): void {
    res
      .status(200)
      .set({
        'Content-Type': 'application/dicom',
        'Content-Disposition': `attachment; filename="${filename}"`,
        'Cache-Control': 'private, no-store',
      })
      .send(bytes);
  }

  router.get('/api/studies/:studyInstanceUid/report/fhir', auth.require(...READ_ROLES), async (req, res) => {
    const { report, studyKey, source } = await loadExportable(String(req.params.studyInstanceUid));
    const body = toFhirDiagnosticReport(report, source, { ...deps.fhir });
    await audit(res, studyKey, report, `FHIR DiagnosticReport (${body.status})`);
    res.status(200).set({ 'Content-Type': 'application/fhir+json; charset=utf-8', 'Cache-Control': 'private, no-store' }).send(JSON.stringify(body));
  });

  router.get('/api/studies/:studyInstanceUid/report/sr', auth.require(...READ_ROLES), async (req, res) => {
    const { report, studyKey, source } = await loadExportable(String(req.params.studyInstanceUid));
    const bytes = toDicomSr(report, source, { now: now(), ...(deps.organization ? { organization: deps.organization } : {}) });
    await audit(res, studyKey, report, `DICOM SR (${report.signed ? 'verified' : 'unverified draft'})`);
    sendDicom(res, bytes, `report-r${report.revision}.dcm`);
  });

  router.get('/api/studies/:studyInstanceUid/report/overlays/:sopInstanceUid/:code.dcm', auth.require(...READ_ROLES), async (req, res) => {
    const { studyInstanceUid, sopInstanceUid, code } = req.params as Record<string, string>;
    requireUid(sopInstanceUid, 'sop-instance-uid');
    if (!FINDING_CODE.test(code)) throw new HttpError(400, 'invalid-finding-code', 'the finding code is malformed');
    const { report, studyKey, source } = await loadExportable(studyInstanceUid);
    const finding = report.findings.find((f) => f.code === code && f.sopInstanceUid === sopInstanceUid);
    if (!finding) throw new HttpError(404, 'finding-not-found', 'the report has no such finding on that image');
    const stored = await deps.findingImage(studyInstanceUid, code, sopInstanceUid, 'overlay');
    let overlayPng: Buffer;
    try {
      overlayPng = await objects.get(stored.bucket, stored.key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new HttpError(404, 'overlay-not-found', 'the overlay image is missing');
      // The storage error's message names the key (which holds the study key): keep it out of the log.
      throw new TransientError(`reading an overlay failed (${error instanceof Error ? error.name : 'error'})`);
    }
    let bytes: Buffer;
    try {
      bytes = await toOverlaySecondaryCapture({ report, finding, source, overlayPng, now: now() });
    } catch (error) {
      if (error instanceof OverlaySourceMissingError) throw new HttpError(404, 'source-image-not-found', error.message);
      throw error;
    }
    await audit(res, studyKey, report, `DICOM Secondary Capture overlay of ${code}`);
    sendDicom(res, bytes, `overlay-${code}.dcm`);
  });

  /** Builds an AI-result object, mapping "nothing to build" to 409. */
  function buildAiResult<T>(build: () => T): T {
    try {
      return build();
    } catch (error) {
      if (error instanceof NothingToExportError) throw new HttpError(409, 'no-ai-results', 'the report has no AI findings to export as AI results');
      if (error instanceof UnsizedSourceImageError) throw new HttpError(409, 'source-image-unsized', error.message);
      throw error;
    }
  }

  /** An AI-result object that an image may not have: none (rather than 409) when there is nothing to put in it. */
  function optionalAiResult(build: () => Buffer): Buffer[] {
    return buildAiResult(() => {
      try {
        return [build()];
      } catch (error) {
        if (error instanceof NothingToExportError) return [];
        throw error;
      }
    });
  }

  router.get('/api/studies/:studyInstanceUid/report/ai-results/sr', auth.require(...READ_ROLES), async (req, res) => {
    const { report, studyKey, source } = await loadExportable(String(req.params.studyInstanceUid));
    const bytes = buildAiResult(() => toMeasurementReport(report, source, { now: now() }));
    await audit(res, studyKey, report, 'DICOM TID 1500 measurement report of the AI findings');
    sendDicom(res, bytes, `ai-results-v${report.analysisVersion}.dcm`);
  });

  type MapKind = { build: (input: SegmentationInput) => Buffer; what: string; file: string; binary?: true };
  const MAP_KINDS: Record<string, MapKind> = {
    pmap: { build: toParametricMap, what: 'Parametric Map', file: 'pmap' },
    seg: { build: toSegmentation, what: 'fractional Segmentation', file: 'seg' },
    'seg-binary': { build: toBinarySegmentation, what: 'binary Segmentation', file: 'seg-binary', binary: true },
  };
  /** The map kind a request asks for: `seg` takes `?type=fractional|binary` (default fractional). */
  function mapKind(path: 'pmap' | 'seg', type: unknown): MapKind {
    if (path === 'pmap' || type === undefined || type === 'fractional') return MAP_KINDS[path]!;
    if (type === 'binary') return MAP_KINDS['seg-binary']!;
    throw new HttpError(400, 'invalid-seg-type', `the Segmentation type must be one of ${SEGMENTATION_KINDS.join(', ')}`);
  }
  for (const path of ['pmap', 'seg'] as const) {
    router.get(`/api/studies/:studyInstanceUid/report/ai-results/${path}`, auth.require(...READ_ROLES), async (req, res) => {
      const { build, what, file, binary } = mapKind(path, req.query.type);
      const { report, studyKey, source } = await loadExportable(String(req.params.studyInstanceUid));
      const images = await readImageHeatmaps(objects, (uid, code, sop) => deps.findingImage(uid, code, sop, 'heatmap'), report, source);
      if (images.length === 0) throw new HttpError(409, 'no-ai-results', 'the report has no AI findings on a stored image to export as AI results');
      // A binary SEG is of the findings called present that have an area at their threshold: images without one have none.
      const files = binary
        ? images.flatMap((image) => optionalAiResult(() => build({ report, source, image, now: now() })))
        : images.map((image) => buildAiResult(() => build({ report, source, image, now: now() })));
      if (files.length === 0) throw new HttpError(409, 'no-ai-results', 'no AI finding called present has an area at its threshold on a stored image');
      await audit(res, studyKey, report, `DICOM ${what} of the AI heatmaps (${files.length} image${files.length === 1 ? '' : 's'})`);
      if (files.length === 1) {
        sendDicom(res, files[0]!, `ai-${file}-v${report.analysisVersion}.dcm`);
        return;
      }
      const { body, contentType } = encodeMultipartRelated(files);
      res.status(200).set({ 'Content-Type': contentType, 'Cache-Control': 'private, no-store' }).send(body);
    });
  }

  return router;
}
