import type { Queue } from 'bullmq';
import type { StudyCompletionJob } from '@cxr/contracts';
import { traceContextOf } from '@cxr/platform';

/**
 * Decides when a study is complete without making the radiologist wait:
 * - DIMSE: when the association that carried it ends (the job runs at once);
 * - STOW-RS: after a quiet period (`stableMs`) with no new instance for the study;
 * - DIMSE fallback: if an association never ends cleanly, after `dimseFallbackMs`.
 *
 * There is one completion job per study (BullMQ deduplication by study): a new instance
 * reschedules the pending job instead of adding another, and `keepLastIfActive` queues exactly
 * one follow-up run if instances arrive while the study is being processed, so no two runs of
 * the same study overlap and no late instance is missed.
 *
 * The job carries the caller's trace context (the C-STORE or STOW-RS request that scheduled it),
 * so the study's processing joins that trace. Rescheduling keeps the first job's data: a study
 * sent over one association or in several requests is traced from the first instance's.
 */
export class CompletionScheduler {
  constructor(
    private readonly queue: Queue<StudyCompletionJob>,
    private readonly stableMs: number,
    private readonly dimseFallbackMs: number,
  ) {}

  private async schedule(studyInstanceUid: string, trigger: StudyCompletionJob['trigger'], delay: number): Promise<void> {
    await this.queue.add(
      'complete-study',
      { schemaVersion: 1, studyInstanceUid, trigger, ...withTrace() },
      {
        delay,
        deduplication: { id: `study.${studyInstanceUid}`, keepLastIfActive: true, reschedule: true },
        attempts: 8,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
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
}

function withTrace(): Pick<StudyCompletionJob, 'trace'> {
  const trace = traceContextOf();
  return trace ? { trace } : {};
}
