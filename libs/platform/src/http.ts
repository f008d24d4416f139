import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { isPermanent } from './errors.ts';

/** An error that maps to an HTTP status, with a machine-readable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The single place that turns an error into an HTTP response (body: `{ error: { code, message } }`). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    if (error instanceof HttpError) {
      ({ status, code, message } = error);
    } else if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      // body-parser and friends
      status = error.status;
      code = error.type ?? 'bad-request';
      message = error.message;
    } else if (!isPermanent(error)) {
      status = 503;
      code = 'unavailable';
      message = 'temporarily unavailable, retry later';
    }
    // The route pattern, not the path: paths carry Study/SOP Instance UIDs.
    const route = (req.route as { path?: string } | undefined)?.path ?? '(no route)';
    if (status >= 500) logger.error({ err: error, method: req.method, route }, 'request failed');
    if (!res.headersSent) res.status(status).json({ error: { code, message } });
  };
}

/** `/healthz` (the process is alive) and `/readyz` (its dependencies answer). */
export function healthRoutes(checkReady: () => Promise<Record<string, boolean>>): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await checkReady().catch(() => ({ check: false }));
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  return router;
}
