import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { tracer, withRequestId } from './tracing.ts';

/** What a caller's `X-Request-Id` may be; anything else is replaced by a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Probes and scrapes: a request id, but no span and no access log line (they come every few seconds). */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * First middleware of every service's app. Gives each request an id (the caller's `X-Request-Id`
 * when it is well-formed, else a new UUID; echoed in the response) and a SERVER span, continued from
 * the caller's `traceparent` header if it sent one; the rest of the chain runs in that context, so
 * every log line written while handling the request carries `req_id`, `trace_id` and `span_id`.
 *
 * The span is named after the route pattern (`POST /dicomweb/studies`), never the path: paths
 * hold Study and SOP Instance UIDs. The access log line (info) names the pattern too.
 */
export function requestContext(logger?: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;

    const base = withRequestId(context.active(), requestId);
    if (UNTRACED_PATHS.has(req.path)) {
      context.with(base, next);
      return;
    }
    const parent = propagation.extract(base, req.headers);
    const span = tracer().startSpan(req.method, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'cxr.request_id': requestId },
    }, parent);
    const ctx = trace.setSpan(parent, span);
    const started = performance.now();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const pattern = typeof route === 'string' ? route : '(no route)';
      const status = res.statusCode;
      span.updateName(`${req.method} ${pattern}`);
      span.setAttributes({ 'http.route': pattern, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('cxr.aborted', true);
      context.with(ctx, () => logger?.info({ method: req.method, route: pattern, status, ms: Math.round(performance.now() - started) }, 'request'));
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(ctx, next);
  };
}
