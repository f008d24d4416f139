import express, { type Express } from 'express';
import { errorHandler, healthRoutes, HttpError, metricsHandler, requestContext, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { HttpAuth } from './auth/index.ts';
import type { ReportConfig } from './config.ts';
import type { ReportUpdatesHub } from './live/report-updates-hub.ts';
import type { ReportMetrics } from './metrics.ts';
import { createReportService, type ReportService } from './review/report-service.ts';
import { withPacsExportOnSign, type PacsExportQueue } from './exports/pacs-export-queue.ts';
import { eventRoutes } from './routes/events.ts';
import type { ModelMonitor } from './monitoring/model-monitor.ts';
import { withReviewMonitoring } from './monitoring/review-monitoring.ts';
import { modelPerformanceRoutes } from './routes/model-performance.ts';
import { exportRoutes } from './routes/exports.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { pacsExportRoutes } from './routes/pacs-export.ts';
import { reportImageRoutes } from './routes/report-images.ts';
import { secondReadRoutes } from './routes/second-read.ts';
import { withSecondReadOnSign } from './second-read/second-read-on-sign.ts';
import type { SecondReadService } from './second-read/second-read-service.ts';
import { studyReportRoutes } from './routes/study-report.ts';
import { worklistRoutes } from './routes/worklist.ts';
import { viewerRoutes } from './viewer/viewer-routes.ts';
import type { ReportStore } from './state/report-store.ts';

export interface AppDeps {
  config: Pick<ReportConfig, 'publicUrl' | 'buckets'> & Partial<Pick<ReportConfig, 'secondRead'>>;
  logger: Logger;
  objects: ObjectStore;
  /** A ReportStore on a request connection (fails fast when Redis is down). */
  reports: ReportStore;
  /** The same request connection, for readiness. */
  redis: Redis;
  metrics: ReportMetrics;
  auth: HttpAuth;
  /** Live report updates for `GET /api/events`; without it the route is not served. */
  hub?: ReportUpdatesHub;
  /** Sending reports to the PACS; without it (no PACS configured) its routes answer 503. */
  pacsExports?: PacsExportQueue;
  /** The second read (final reports, discrepancies); without it its routes are not served. */
  secondRead?: SecondReadService;
  /** Model monitoring (`GET /api/model-performance`, reviews counted at signing); without it the route is not served. */
  monitor?: { monitor: ModelMonitor; defaultWindowMs: number };
  now?: () => Date;
}

/** The HTTP API. Never reads the environment or listens: main.ts does. */
export function createApp(deps: AppDeps): Express {
  const { config, logger, objects, redis, metrics, auth, reports } = deps;
  const reviewService: ReportService = createReportService({
    reports,
    signUrl: (path) => auth.signUrl(path),
    publicUrl: config.publicUrl,
    buckets: config.buckets,
    ...(deps.now ? { now: deps.now } : {}),
  });
  // REPORT_PACS_SEND_ON_SIGN: signing also queues the PACS export.
  const monitored = deps.monitor ? withReviewMonitoring(reviewService, reports, deps.monitor.monitor, logger) : reviewService;
  const withExport = deps.pacsExports?.sendOnSign ? withPacsExportOnSign(monitored, deps.pacsExports, logger) : monitored;
  // REPORT_SECOND_READ_ON_SIGN: a report signed here is compared with the AI like any final report.
  const service = deps.secondRead && (config.secondRead?.onSign ?? true) ? withSecondReadOnSign(withExport, deps.secondRead, logger) : withExport;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(logger)); // X-Request-Id, a span per request, req_id/trace_id in logs

  app.use(
    healthRoutes(async () => {
      const [redisUp, storageUp] = await Promise.all([
        redis.ping().then((reply) => reply === 'PONG', () => false),
        objects.ping(config.buckets.reports),
      ]);
      return { redis: redisUp, storage: storageUp };
    }),
  );
  app.get('/metrics', metricsHandler(metrics.registry));
  app.use(openApiRoutes({ publicUrl: config.publicUrl }));
  app.use(worklistRoutes({ auth, reports }));
  app.use(studyReportRoutes({ auth, service }));
  app.use(reportImageRoutes({ auth, service, objects }));
  app.use(
    exportRoutes({
      auth,
      objects,
      config,
      loadReportView: service.loadReportView,
      recordAudit: service.recordAudit,
      findingImage: service.findingImage,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.use(pacsExportRoutes({ auth, service, exports: deps.pacsExports }));
  if (deps.hub) app.use(eventRoutes({ auth, hub: deps.hub }));
  if (deps.secondRead) app.use(secondReadRoutes({ auth, service: deps.secondRead, maxBodyBytes: config.secondRead?.maxBodyBytes ?? 512 * 1024 }));
  if (deps.monitor) app.use(modelPerformanceRoutes({ auth, ...deps.monitor, ...(deps.now ? { now: deps.now } : {}) }));
  // The standalone viewer: static page and bundle, no token (its API calls carry one).
  app.use(viewerRoutes({ publicUrl: config.publicUrl }));
  app.use(() => {
    throw new HttpError(404, 'not-found', 'no such route');
  });
  // The shared handler logs the route pattern, never the path (paths hold StudyInstanceUIDs).
  app.use(errorHandler(logger));
  return app;
}
