import express, { type Router } from 'express';
import {
  HttpError, MultipartError, encodeMultipartRelated, isPermanent, parseMultipartRelated, parseMultipartRelatedType, type Logger, type ObjectStore,
} from '@cxr/platform';
import type { prom } from '@cxr/platform';
import type { ReceiveBudget } from '@cxr/dimse';
import { budgetedRawBody } from '../receive/budgeted-body.ts';
import { InstanceRejectedError, StoreStatus, type InstanceStore } from '../storage/instance-store.ts';
import type { CompletionScheduler } from '../studies/completion-scheduler.ts';
import type { StudyRegistry } from '../studies/study-registry.ts';
import { FailureReason, stowResponse, stowStatus, type FailedRef, type StoredRef } from './stow-response.ts';
import { senderAuth, type SenderAuthOptions } from './sender-auth.ts';

export interface StowDeps {
  instances: InstanceStore;
  scheduler: CompletionScheduler;
  registry: StudyRegistry;
  objects: ObjectStore;
  originalsBucket: string;
  senderAuth: SenderAuthOptions;
  maxRequestBytes: number;
  /** Memory shared with the DIMSE receiver: request bodies are reserved in it as they arrive. */
  budget: ReceiveBudget;
  /** STOW-RS bodies read at once; one more is answered 503 with Retry-After. */
  maxConcurrentRequests: number;
  /** Minimum rate of a body being received (0 = none), over each window: slower gets 408. */
  receiveRate: { minBytesPerSecond: number; windowMs: number };
  maxParts: number;
  logger: Logger;
  received: prom.Counter<'protocol' | 'outcome'>;
  /** Request bodies refused before being read in full (busy, too-large, memory, slow). */
  refused: prom.Counter<'protocol' | 'reason'>;
}

const DICOM_JSON = 'application/dicom+json';
/** What a sender refused for want of memory, a slot, storage or Redis is told to wait. */
const RETRY_AFTER_SECONDS = 5;

/**
 * DICOMweb STOW-RS (PS3.18 10.5): `POST /dicomweb/studies[/{study}]` with a
 * `multipart/related; type="application/dicom"` body, chunked or not; and WADO-RS retrieval
 * of a stored instance, which the response's RetrieveURLs point to.
 */
export function stowRoutes(deps: StowDeps): Router {
  const router = express.Router();
  const auth = senderAuth(deps.senderAuth);
  const rawBody = budgetedRawBody({
    budget: deps.budget, maxBytes: deps.maxRequestBytes, maxConcurrent: deps.maxConcurrentRequests, retryAfterSeconds: RETRY_AFTER_SECONDS,
    minBytesPerSecond: deps.receiveRate.minBytesPerSecond, windowMs: deps.receiveRate.windowMs,
    onRefused: (reason) => deps.refused.inc({ protocol: 'stow-rs', reason }),
  });

  const store: express.RequestHandler = async (req, res, next) => {
    try {
      const requestedStudy = (req.params as Record<string, string | undefined>).study;
      let mediaType;
      try {
        mediaType = parseMultipartRelatedType(req.get('content-type'));
      } catch (error) {
        throw new HttpError(415, 'unsupported-media-type', (error as Error).message);
      }
      if (mediaType.type && mediaType.type !== 'application/dicom') {
        throw new HttpError(415, 'unsupported-media-type', `only type="application/dicom" parts are accepted, got ${mediaType.type}`);
      }
      if (!Buffer.isBuffer(req.body)) throw new HttpError(400, 'bad-request', 'empty request body');
      let parts;
      try {
        parts = parseMultipartRelated(req.body, mediaType.boundary, deps.maxParts);
      } catch (error) {
        if (error instanceof MultipartError) throw new HttpError(400, 'bad-request', error.message);
        throw error;
      }
      const base = `${req.protocol}://${req.get('host')}/dicomweb`;
      const stored: StoredRef[] = [];
      const failed: FailedRef[] = [];
      const studies = new Set<string>();
      for (const part of parts) {
        const partType = (part.headers.get('content-type') ?? mediaType.type ?? '').split(';')[0]!.trim().toLowerCase();
        if (partType !== 'application/dicom') {
          failed.push({ failureReason: FailureReason.cannotUnderstand });
          continue;
        }
        try {
          const accepted = await deps.instances.accept(part.body, { protocol: 'stow-rs', sender: res.locals.sender as string });
          if (requestedStudy && accepted.studyInstanceUid !== requestedStudy) {
            // Stored (we never drop what we could keep), but reported as a failure for this request.
            failed.push({ sopClassUid: accepted.sopClassUid, sopInstanceUid: accepted.sopInstanceUid, failureReason: FailureReason.studyInstanceUidMismatch });
            studies.add(accepted.studyInstanceUid);
            continue;
          }
          studies.add(accepted.studyInstanceUid);
          deps.received.inc({ protocol: 'stow-rs', outcome: accepted.outcome });
          stored.push({
            sopClassUid: accepted.sopClassUid,
            sopInstanceUid: accepted.sopInstanceUid,
            retrieveUrl: `${base}/studies/${accepted.studyInstanceUid}/series/${accepted.seriesInstanceUid}/instances/${accepted.sopInstanceUid}`,
          });
        } catch (error) {
          if (error instanceof InstanceRejectedError) {
            deps.received.inc({ protocol: 'stow-rs', outcome: 'rejected' });
            failed.push({
              failureReason: error.dimseStatus === StoreStatus.outOfResources ? FailureReason.outOfResources : FailureReason.cannotUnderstand,
            });
            continue;
          }
          throw error; // storage or Redis unavailable: the whole request gets 503 and is resent
        }
      }
      for (const study of studies) await deps.scheduler.instanceOverHttp(study);
      const status = stowStatus(stored.length, failed.length, 0);
      const studyUrl = requestedStudy ? `${base}/studies/${requestedStudy}` : undefined;
      res.status(status).type(DICOM_JSON).send(JSON.stringify(stowResponse(stored, failed, studyUrl)));
    } catch (error) {
      if (!(error instanceof HttpError) && !isPermanent(error)) {
        deps.received.inc({ protocol: 'stow-rs', outcome: 'unavailable' });
        res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      }
      next(error);
    }
  };

  router.post('/dicomweb/studies', auth, rawBody, store);
  router.post('/dicomweb/studies/:study', auth, rawBody, store);

  router.get('/dicomweb/studies/:study/series/:series/instances/:instance', auth, async (req, res, next) => {
    try {
      const { study, series, instance } = req.params as Record<string, string>;
      const record = await deps.registry.instance(study, instance);
      if (!record || record.seriesInstanceUid !== series) throw new HttpError(404, 'not-found', 'no such instance');
      const body = await deps.objects.get(deps.originalsBucket, record.objectKey);
      const answer = encodeMultipartRelated([body]);
      res.type(answer.contentType);
      res.send(answer.body);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
