import express, { type Express } from 'express';
import { errorHandler, healthRoutes, metricsHandler, requestContext, type Logger } from '@cxr/platform';
import type { Registry } from 'prom-client';

/** The worker's HTTP surface: health, readiness and metrics only. */
export function createApp(deps: { metrics: Registry; checkReady: () => Promise<Record<string, boolean>>; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(deps.logger));
  app.use(healthRoutes(deps.checkReady));
  app.get('/metrics', metricsHandler(deps.metrics));
  app.use(errorHandler(deps.logger));
  return app;
}
