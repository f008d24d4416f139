import { addStudyCompletionJob, type StudyCompletionJob, type StudyCompletionQueue } from '../workers/study-completion.ts';

/**
 * Decides when a study is complete without making the radiologist wait:
 * - DIMSE: when the association that carried it ends (the job runs at once);
 * - STOW-RS: after a quiet period (`stableMs`) with no new instance for the study;
 * - DIMSE fallback: if an association never ends cleanly, after `dimseFallbackMs`.
 *
 * There is one completion job per study (BullMQ deduplication by study, `QUEUES.studyCompletion`):
 * a new instance reschedules the pending job instead of adding another, and `keepLastIfActive`
 * queues exactly one follow-up run if instances arrive while the study is being processed, so no
 * two runs of the same study overlap and no late instance is missed.
 *
 * The job carries the caller's trace context (the C-STORE or STOW-RS request that scheduled it),
 * so the study's processing joins that trace. Rescheduling keeps the first job's data: a study
 * sent over one association or in several requests is traced from the first instance's.
 */
export class CompletionScheduler {
  constructor(
    private readonly queue: StudyCompletionQueue,
    private readonly stableMs: number,
    private readonly dimseFallbackMs: number,
  ) {}

  private schedule(studyInstanceUid: string, trigger: StudyCompletionJob['trigger'], delay: number): Promise<void> {
    return addStudyCompletionJob(this.queue, studyInstanceUid, trigger, delay);
  }

  instanceOverHttp(studyInstanceUid: string): Promise<void> {
    return this.schedule(studyInstanceUid, 'stable-age', this.stableMs);
  }

  instanceOverDimse(studyInstanceUid: string): Promise<void> {
    return this.schedule(studyInstanceUid, 'stable-age', this.dimseFallbackMs);
  }

  associationEnded(studyInstanceUid: string): Promise<void> {
    return this.schedule(studyInstanceUid, 'association-end', 0);
  }

  /** A study recorded but never completed (CompletionReconciler): completed now. */
  reconciled(studyInstanceUid: string): Promise<void> {
    return this.schedule(studyInstanceUid, 'reindex', 0);
  }
}
