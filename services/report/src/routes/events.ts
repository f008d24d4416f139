import express, { type Router } from 'express';
import { dicomUidSchema, reportStatusSchema, type ReportUpdatedEvent } from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import { READ_ROLES, type HttpAuth } from '../auth/index.ts';
import type { ReportUpdatesHub } from '../live/report-updates-hub.ts';

/**
 * `GET /api/events`: server-sent events for the viewer and worklists.
 *
 * - `event: ready` once the stream is live (refetch what you show: updates before it are not replayed);
 * - `event: report-updated` with a `reportUpdatedEventSchema` body for each change;
 * - a comment line every `heartbeatMs` so proxies keep the connection open.
 *
 * Filters: `?study=<StudyInstanceUID>` (one study) and `?status=draft,signed`.
 * EventSource cannot send headers, so the token may come as `?access_token=`.
 */
export interface EventRoutesDeps {
  auth: HttpAuth;
  hub: ReportUpdatesHub;
  heartbeatMs?: number;
  /** Open streams this process accepts; more get 503 (clients retry). */
  maxStreams?: number;
}

export function eventRoutes(deps: EventRoutesDeps): Router {
  const { auth, hub } = deps;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxStreams = deps.maxStreams ?? 2000;
  const router = express.Router();

  router.get('/api/events', auth.requireAllowingQueryToken(...READ_ROLES), (req, res) => {
    const study = typeof req.query.study === 'string' ? req.query.study : undefined;
    if (study !== undefined && !dicomUidSchema.safeParse(study).success) {
      throw new HttpError(400, 'invalid-study-instance-uid', 'study is not a valid DICOM UID');
    }
    const statuses = typeof req.query.status === 'string' ? req.query.status.split(',').filter(Boolean) : [];
    if (!statuses.every((s) => reportStatusSchema.safeParse(s).success)) {
      throw new HttpError(400, 'invalid-status', `status must be among: ${reportStatusSchema.options.join(', ')}`);
    }
    if (hub.size >= maxStreams) throw new HttpError(503, 'too-many-streams', 'too many open event streams, retry later');

    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx and friends buffer responses unless told not to.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(`retry: 3000\nevent: ready\ndata: {}\n\n`);

    const wanted = (update: ReportUpdatedEvent): boolean =>
      (study === undefined || update.studyInstanceUid === study) && (statuses.length === 0 || statuses.includes(update.status));
    let sequence = 0;
    const stopListening = hub.listen(
      (update) => {
        if (!wanted(update)) return;
        sequence += 1;
        res.write(`id: ${sequence}\nevent: report-updated\ndata: ${JSON.stringify(update)}\n\n`);
      },
      () => res.end(),
    );
    const heartbeat = setInterval(() => res.write(`: keep-alive\n\n`), heartbeatMs);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      stopListening();
    });
  });

  return router;
}
