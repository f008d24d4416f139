/**
 * What ingest decides when an instance arrives over DIMSE (the network layer is @cxr/dimse):
 * each instance goes to the InstanceStore, and the studies an association touched are completed
 * when it is released. If it never ends cleanly, a fallback completion scheduled per instance
 * still completes them after a while.
 */
import type { AssociationEndHandler, StoreHandler } from '@cxr/dimse';
import { errorMessage, type Logger, type prom } from '@cxr/platform';
import { InstanceRejectedError, StorageUnavailableError, type InstanceStore } from '../storage/instance-store.ts';
import type { CompletionScheduler } from '../studies/completion-scheduler.ts';
import type { StudyRegistry } from '../studies/study-registry.ts';

/** The fallback then fires between 4.5 and 5 minutes after a study's last instance on an association that never ended. */
const DIMSE_FALLBACK_RESCHEDULE_MS = 30_000;

export interface DimseHandlerDeps {
  instances: InstanceStore;
  scheduler: CompletionScheduler;
  registry: StudyRegistry;
  received: prom.Counter<'protocol' | 'outcome'>;
  /** C-STOREs the network layer refused itself (memory budget, size, data set checks). */
  refused: prom.Counter<'protocol' | 'reason'>;
  logger: Logger;
}

export function createDimseHandlers({ instances, scheduler, registry, received, refused, logger }: DimseHandlerDeps): StoreHandler & AssociationEndHandler {
  // Studies touched by each open association, completed when it is released, with when each
  // study's fallback completion was last (re)scheduled by that association.
  const associationStudies = new Map<string, Map<string, number>>();
  return {
    onRefused(ctx) {
      refused.inc({ protocol: 'dimse', reason: ctx.reason });
    },
    async onInstance(file, ctx) {
      try {
        const accepted = await instances.accept(file, { protocol: 'dimse', sender: ctx.callingAeTitle, sha256: ctx.sha256 });
        let studies = associationStudies.get(ctx.associationId);
        if (!studies) associationStudies.set(ctx.associationId, (studies = new Map()));
        // Pushing the fallback back is a queue round trip (~10% of a small instance's C-STORE),
        // so one association does it at most every DIMSE_FALLBACK_RESCHEDULE_MS per study.
        const lastScheduled = studies.get(accepted.studyInstanceUid) ?? Number.NEGATIVE_INFINITY;
        studies.set(accepted.studyInstanceUid, lastScheduled);
        if (Date.now() - lastScheduled >= DIMSE_FALLBACK_RESCHEDULE_MS) {
          await scheduler.instanceOverDimse(accepted.studyInstanceUid);
          studies.set(accepted.studyInstanceUid, Date.now());
        }
        received.inc({ protocol: 'dimse', outcome: accepted.outcome });
      } catch (error) {
        received.inc({ protocol: 'dimse', outcome: error instanceof InstanceRejectedError ? 'rejected' : 'unavailable' });
        if (error instanceof InstanceRejectedError || error instanceof StorageUnavailableError) throw error;
        throw new StorageUnavailableError(`cannot record the instance now: ${errorMessage(error)}`, { cause: error });
      }
    },
    async onAssociationEnd(ctx) {
      const studies = [...(associationStudies.get(ctx.associationId)?.keys() ?? [])];
      associationStudies.delete(ctx.associationId);
      if (!ctx.released) return; // aborted: the fallback completion covers what was stored
      for (const study of studies) {
        try {
          await scheduler.associationEnded(study);
        } catch (error) {
          logger.warn({ studyKey: registry.studyKey(study), reason: errorMessage(error) }, 'could not schedule study completion; the fallback will');
        }
      }
    },
  };
}
