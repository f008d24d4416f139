import express, { type Router } from 'express';
import type { HttpAuth } from '../auth/index.ts';
import type { ModelMonitor } from '../monitoring/model-monitor.ts';
import { parseReportWindow } from '../monitoring/report-window.ts';

/**
 * `GET /api/model-performance?window=7d` or `?since=&until=` (admin): per model version and
 * finding, positive rate, probability histogram, out-of-scope and not-eligible shares, agreement
 * from signed reports, shadow comparisons and the drift status, over the window (default
 * REPORT_DRIFT_WINDOW). Counts only: no study is named.
 */
export interface ModelPerformanceRoutesDeps {
  auth: HttpAuth;
  monitor: ModelMonitor;
  /** REPORT_DRIFT_WINDOW in ms. */
  defaultWindowMs: number;
  now?: () => Date;
}

export function modelPerformanceRoutes(deps: ModelPerformanceRoutesDeps): Router {
  const now = deps.now ?? (() => new Date());
  const router = express.Router();
  router.get('/api/model-performance', deps.auth.require('admin'), async (req, res) => {
    const window = parseReportWindow(req.query as Record<string, unknown>, now(), deps.defaultWindowMs);
    res.set('Cache-Control', 'private, no-cache').json(await deps.monitor.report(window));
  });
  return router;
}
