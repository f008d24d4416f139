import express, { type Express } from 'express';
import { errorHandler, healthRoutes, metricsHandler, requestContext, type Logger } from '@cxr/platform';
import type { Registry } from 'prom-client';
import { stowRoutes, type StowDeps } from './stow/stow-routes.ts';

export interface HttpAppDeps extends StowDeps {
  metrics: Registry;
  checkReady: () => Promise<Record<string, boolean>>;
  logger: Logger;
}

/** The ingest HTTP surface: DICOMweb STOW-RS, health and metrics. Never listens by itself. */
export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(deps.logger));
  app.use(healthRoutes(deps.checkReady));
  app.get('/metrics', metricsHandler(deps.metrics));
  app.use(stowRoutes(deps));
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not-found', message: 'no such route' } });
  });
  app.use(errorHandler(deps.logger));
  return app;
}
