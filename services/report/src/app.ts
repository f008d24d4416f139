import express, { type Express } from 'express';
import { errorHandler, healthRoutes, HttpError, metricsHandler, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { ReportConfig } from './config.ts';
import type { ReportMetrics } from './metrics.ts';
import { studyReportRoutes } from './routes/study-report.ts';
import type { ReportStore } from './state/report-store.ts';

export interface AppDeps {
  config: Pick<ReportConfig, 'publicUrl' | 'buckets'>;
  logger: Logger;
  objects: ObjectStore;
  /** A ReportStore on a request connection (fails fast when Redis is down). */
  reports: ReportStore;
  /** The same request connection, for readiness. */
  redis: Redis;
  metrics: ReportMetrics;
}

/** The HTTP API. Never reads the environment or listens: main.ts does. */
export function createApp(deps: AppDeps): Express {
  const { config, logger, objects, redis, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');

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
  app.use(studyReportRoutes(deps));
  app.use(() => {
    throw new HttpError(404, 'not-found', 'no such route');
  });
  // The shared handler logs the route pattern, never the path (paths hold StudyInstanceUIDs).
  app.use(errorHandler(logger));
  return app;
}
