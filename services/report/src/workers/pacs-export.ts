/**
 * The `pacs-export` queue (report → report; name, schema, options and job id are
 * `QUEUES.pacsExport` in @cxr/contracts, jobs are added by exports/pacs-export-queue.ts): builds
 * the objects `REPORT_PACS_OBJECTS` names (by default the report's DICOM SR and the Secondary
 * Capture of each finding present in the report; optionally the AI results as a TID 1500 SR and
 * a Parametric Map and a fractional and/or binary Segmentation per image), with the same builders
 * as the download routes,
 * and stores them on the PACS in one STOW-RS request.
 *
 * Choices, and why:
 * - The report is sent as it is when the job runs (an addendum added while the PACS was down goes
 *   too); the delivery says which revision went. The objects' UIDs derive from the study and
 *   revision (SR) or analysis version, image and finding (SC), so sending again is idempotent on
 *   the PACS: it keeps one copy of each.
 * - Hold-and-resend is the worker's own, not BullMQ's `attempts`: when the PACS cannot take the
 *   objects (no connection, timeout, 408/425/429, 5xx, out of resources) the job is moved to the
 *   delayed set with a backoff from 5 s doubling to 10 min (or the PACS's Retry-After, up to that
 *   cap), and its progress says when it runs next and why. The job waits in Redis, so it survives
 *   restarts (Redis persistence keeps it across a Redis restart). Once the job has been held for
 *   `REPORT_PACS_MAX_HOLD_HOURS` since it was asked for, it fails.
 * - Anything else (a 4xx, instances the PACS refused, a report with nothing to send, originals
 *   gone) fails the job at once (`UnrecoverableError`), with the reason in its state.
 * - Both ends are written to the study's audit trail (`export`, actor = who asked): "sent ... to
 *   the PACS" or "sending to the PACS failed: ...". Logs carry the study key, never UIDs.
 */
import { DelayedError, UnrecoverableError, type Worker } from 'bullmq';
import { QUEUES, type AuditEntry, type PacsDelivery, type PacsExportJob, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import { createValidatedWorker, errorMessage, HttpError, isPermanent, ObjectNotFoundError, PermanentError, TransientError, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import { DEFAULT_PACS_OBJECTS, type PacsObject, type ReportConfig } from '../config.ts';
import type { ReportService } from '../review/report-service.ts';
import { toDicomSr } from '../exports/dicom-sr.ts';
import { readImageHeatmaps } from '../exports/finding-heatmaps.ts';
import { toMeasurementReport } from '../exports/measurement-report.ts';
import { toParametricMap } from '../exports/parametric-map.ts';
import { toBinarySegmentation, toSegmentation, type SegmentationInput } from '../exports/segmentation.ts';
import { progressOf, assertSendable, type PacsExportProgress } from '../exports/pacs-export-queue.ts';
import type { PacsExportMetrics } from '../exports/pacs-export-metrics.ts';
import { isPresentInReport, NothingToExportError } from '../exports/report-content.ts';
import { toOverlaySecondaryCapture } from '../exports/secondary-capture.ts';
import { readSourceStudy } from '../exports/source-study.ts';
import { StowUnavailableError, type StowResponse } from '../exports/stow-client.ts';

export interface RetryPolicy {
  /** First wait after a failed attempt; default 5 s. */
  initialDelayMs: number;
  /** Longest wait between attempts; default 10 min. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ initialDelayMs: 5_000, maxDelayMs: 10 * 60_000 });

/** Wait before attempt `attempt + 1` after `attempt` failed (1-based): doubling from the initial delay, capped; a Retry-After counts up to the cap. */
export function retryDelayMs(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number {
  const doubling = policy.initialDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(Math.max(doubling, retryAfterMs ?? 0), policy.maxDelayMs);
}

export interface PacsExportWorkerDeps {
  /** `pacs.objects`: what an export sends (default: the report SR and the overlays). */
  config: Pick<ReportConfig, 'queuePrefix' | 'buckets'> & { pacs: { maxHoldHours: number; objects?: readonly PacsObject[] } };
  logger: Logger;
  /** From `createWorkerConnection`: BullMQ needs `maxRetriesPerRequest: null`. */
  connection: Redis;
  objects: ObjectStore;
  /** The review service (reads the report and overlays, writes the audit trail). */
  service: Pick<ReportService, 'loadReportView' | 'findingImage' | 'recordAudit'>;
  /** The PACS (`StowClient`). */
  stow: { store(files: readonly Buffer[]): Promise<StowResponse> };
  metrics: PacsExportMetrics;
  retry?: Partial<RetryPolicy>;
  /** Verifying Organization written into signed SR documents. */
  organization?: string;
  concurrency?: number;
  now?: () => Date;
}

/** The objects of one export, built from the report as it is now. */
interface Built {
  report: ReportResponse;
  studyKey: string;
  files: Buffer[];
  reportSr: boolean;
  /** Null when the overlays are not among the objects sent. */
  overlays: number | null;
  aiResults: NonNullable<PacsDelivery['aiResults']> | null;
}

/** An image's binary Segmentation, or null when none of its findings called present has an area at its threshold. */
function binarySegmentationOf(input: SegmentationInput): Buffer | null {
  try {
    return toBinarySegmentation(input);
  } catch (error) {
    if (error instanceof NothingToExportError) return null;
    throw error;
  }
}

/** What was sent, in words, for the audit trail: "verified SR and 1 overlay; AI results: ...". */
function sentText(built: Built): string {
  const parts = [
    ...(built.reportSr ? [built.report.signed ? 'verified SR' : 'unverified draft SR'] : []),
    ...(built.overlays !== null ? [`${built.overlays} overlay${built.overlays === 1 ? '' : 's'}`] : []),
  ];
  const ai = built.aiResults;
  const aiText = ai
    ? [
        ...(ai.measurementReports > 0 ? ['TID 1500 measurement report'] : []),
        ...(ai.parametricMaps > 0 ? [`${ai.parametricMaps} parametric map${ai.parametricMaps === 1 ? '' : 's'}`] : []),
        ...(ai.segmentations > 0 ? [`${ai.segmentations} segmentation${ai.segmentations === 1 ? '' : 's'}`] : []),
        ...((ai.binarySegmentations ?? 0) > 0 ? [`${ai.binarySegmentations} binary segmentation${ai.binarySegmentations === 1 ? '' : 's'}`] : []),
      ].join(', ')
    : '';
  return [parts.join(' and '), ...(aiText ? [`AI results: ${aiText}`] : [])].filter(Boolean).join('; ');
}

/** Errors that are requests for something not there (404/409 from the review service): no retry. */
function asPermanent(error: unknown): unknown {
  if (error instanceof HttpError && error.status >= 400 && error.status < 500) return new PermanentError(error.message);
  return error;
}

export function startPacsExportWorker(deps: PacsExportWorkerDeps): Worker<unknown, PacsDelivery> {
  const { config, logger, objects, service, stow, metrics } = deps;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const now = deps.now ?? (() => new Date());
  const maxHoldMs = config.pacs.maxHoldHours * 3600_000;
  const chosen = new Set<PacsObject>(config.pacs.objects ?? DEFAULT_PACS_OBJECTS);

  async function overlayFile(report: ReportResponse, finding: ReportFinding, source: Awaited<ReturnType<typeof readSourceStudy>>): Promise<Buffer> {
    const stored = await service.findingImage(report.studyInstanceUid, finding.code, finding.sopInstanceUid, 'overlay');
    let png: Buffer;
    try {
      png = await objects.get(stored.bucket, stored.key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new PermanentError(`the overlay image of ${finding.code} is missing`);
      // The storage error names the key (which holds the study key): keep it out of the reason.
      throw new TransientError(`reading an overlay failed (${error instanceof Error ? error.name : 'error'})`);
    }
    return toOverlaySecondaryCapture({ report, finding, source, overlayPng: png, now: now() });
  }

  async function build(job: PacsExportJob): Promise<Built> {
    const { response: report, studyKey } = await service.loadReportView(job.studyInstanceUid);
    if (studyKey !== job.studyKey) throw new PermanentError('the study is now known under another key');
    assertSendable(report, job.allowDraft);
    const source = await readSourceStudy(objects, config.buckets.originals, job.studyInstanceUid);
    const files: Buffer[] = [];
    if (chosen.has('report-sr')) files.push(toDicomSr(report, source, { now: now(), ...(deps.organization ? { organization: deps.organization } : {}) }));
    let overlays: number | null = null;
    if (chosen.has('overlays')) {
      overlays = 0;
      for (const finding of report.findings.filter(isPresentInReport)) {
        files.push(await overlayFile(report, finding, source));
        overlays += 1;
      }
    }
    let aiResults: Built['aiResults'] = null;
    if (chosen.has('ai-sr') || chosen.has('pmap') || chosen.has('seg') || chosen.has('seg-binary')) {
      aiResults = { measurementReports: 0, parametricMaps: 0, segmentations: 0, ...(chosen.has('seg-binary') ? { binarySegmentations: 0 } : {}) };
      // A report whose model found nothing to say (no findings) has no AI results to send.
      if (chosen.has('ai-sr') && report.findings.length > 0) {
        files.push(toMeasurementReport(report, source, { now: now() }));
        aiResults.measurementReports = 1;
      }
      if (chosen.has('pmap') || chosen.has('seg') || chosen.has('seg-binary')) {
        const images = await readImageHeatmaps(objects, (uid, code, sop) => service.findingImage(uid, code, sop, 'heatmap'), report, source);
        for (const image of images) {
          if (chosen.has('pmap')) files.push(toParametricMap({ report, source, image, now: now() }));
          if (chosen.has('seg')) files.push(toSegmentation({ report, source, image, now: now() }));
          // Only images with a finding called present that has an area at its threshold have one.
          const binary = chosen.has('seg-binary') && image.findings.some(({ finding }) => finding.positive) ? binarySegmentationOf({ report, source, image, now: now() }) : null;
          if (binary) {
            files.push(binary);
            aiResults.binarySegmentations = (aiResults.binarySegmentations ?? 0) + 1;
          }
        }
        if (chosen.has('pmap')) aiResults.parametricMaps = images.length;
        if (chosen.has('seg')) aiResults.segmentations = images.length;
      }
    }
    if (files.length === 0) throw new PermanentError('nothing to send: the objects REPORT_PACS_OBJECTS names are not there for this report');
    return { report, studyKey, files, reportSr: chosen.has('report-sr'), overlays, aiResults };
  }

  async function audit(job: PacsExportJob, revision: number, detail: string): Promise<void> {
    const entry: AuditEntry = { at: now().toISOString(), actor: job.requestedBy, action: 'export', revision, detail: detail.slice(0, 2000) };
    await service.recordAudit(job.studyKey, entry);
  }

  return createValidatedWorker<PacsExportJob, PacsDelivery>({
    queue: QUEUES.pacsExport,
    connection: deps.connection,
    prefix: config.queuePrefix,
    logger,
    // A send cut short by a crash is simply sent again (same UIDs): allow a few.
    settings: { concurrency: deps.concurrency ?? 2, maxStalledCount: 5 },
    // The attempts are the worker's own (hold-and-resend), counted in the job's progress.
    spanAttributes: (data, job) => ({ 'cxr.study_key': data.studyKey, 'cxr.revision': data.revision, 'messaging.message.attempt': progressOf(job).attempts + 1 }),
    async handle(data, { job, token, span }) {
      const before = progressOf(job);
      const attempt = before.attempts + 1;
      const log = logger.child({ jobId: job.id, studyKey: data.studyKey, attempt });
      let built: Built | undefined;
      try {
        built = await build(data);
        const answer = await stow.store(built.files);
        const delivery: PacsDelivery = {
          revision: built.report.revision,
          signed: built.report.signed,
          httpStatus: answer.httpStatus,
          stored: answer.parsed ? answer.stored.length : built.files.length,
          overlays: built.overlays ?? 0,
          ...(built.aiResults ? { aiResults: built.aiResults } : {}),
          warnings: answer.warnings.slice(0, 100),
        };
        await audit(
          data,
          built.report.revision,
          `sent to the PACS (STOW-RS ${answer.httpStatus}): ${sentText(built)}` +
            `${attempt > 1 ? ` after ${attempt} attempts` : ''}${delivery.warnings.length > 0 ? `; warnings: ${delivery.warnings.join(', ')}` : ''}`,
        );
        await job.updateProgress({ attempts: attempt, lastError: null, nextAttemptAt: null } satisfies PacsExportProgress);
        metrics.exports.inc({ outcome: 'delivered' });
        span.setAttribute('cxr.outcome', 'delivered');
        log.info({ revision: delivery.revision, overlays: delivery.overlays, aiResults: delivery.aiResults, httpStatus: delivery.httpStatus }, 'report sent to the PACS');
        return delivery;
      } catch (caught) {
        const error = asPermanent(caught);
        const reason = errorMessage(error);
        const requestedAt = Date.parse(data.requestedAt);
        const holdForRetry = async (why: string, retryAfterMs?: number): Promise<never> => {
          const delay = retryDelayMs(attempt, policy, retryAfterMs);
          // Within the hold time, the last attempt is at its end; past it (only to record a failure), after the delay.
          const at = now().getTime();
          const nextAttemptAt = at < requestedAt + maxHoldMs ? Math.min(at + delay, requestedAt + maxHoldMs) : at + delay;
          await job.updateProgress({ attempts: attempt, lastError: why, nextAttemptAt: new Date(nextAttemptAt).toISOString() } satisfies PacsExportProgress);
          await job.moveToDelayed(nextAttemptAt, token);
          metrics.exports.inc({ outcome: 'retrying' });
          span.setAttribute('cxr.outcome', 'retrying');
          log.warn({ err: why, retryInMs: nextAttemptAt - at }, 'PACS export held for a retry');
          throw new DelayedError();
        };
        if (!isPermanent(error) && now().getTime() - requestedAt < maxHoldMs) {
          return holdForRetry(reason, error instanceof StowUnavailableError ? error.retryAfterMs : undefined);
        }
        const finalReason = isPermanent(error)
          ? reason
          : `the PACS could not take the report for ${config.pacs.maxHoldHours} h (${attempt} attempts); last error: ${reason}`;
        try {
          await audit(data, built?.report.revision ?? data.revision, `sending to the PACS failed: ${finalReason}`);
        } catch (auditError) {
          // A failure is final only with its audit entry: hold the job and decide again.
          return holdForRetry(`recording the failure in the audit trail failed (${errorMessage(auditError)}); the failure was: ${finalReason}`);
        }
        await job.updateProgress({ attempts: attempt, lastError: reason, nextAttemptAt: null } satisfies PacsExportProgress);
        metrics.exports.inc({ outcome: 'failed' });
        span.setAttribute('cxr.outcome', 'failed');
        log.warn({ err: finalReason }, 'PACS export failed');
        throw new UnrecoverableError(finalReason);
      }
    },
  });
}
