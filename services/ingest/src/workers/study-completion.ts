/**
 * The `study-completion` queue (ingest → ingest): the job that says a study's instances have all
 * arrived, how it is added (`addStudyCompletionJob`, used by the CompletionScheduler) and the
 * worker that runs the StudyProcessor on it. Name, schema, options and deduplication id are
 * `QUEUES.studyCompletion` in @cxr/contracts.
 */
import type { Queue, Worker } from 'bullmq';
import { QUEUES, type StudyCompletionJob } from '@cxr/contracts';
import { addJob, createValidatedWorker, errorMessage, traceContextOf, type Logger, type prom, type Redis } from '@cxr/platform';
import type { StudyOutcome, StudyProcessor } from '../studies/study-processor.ts';

export type { StudyCompletionJob };
export type StudyCompletionQueue = Queue<StudyCompletionJob>;

/**
 * (Re)schedules the study's completion `delayMs` from now. The job carries the caller's trace
 * context (the C-STORE or STOW-RS request that scheduled it); rescheduling keeps the first job's data.
 */
export async function addStudyCompletionJob(
  queue: StudyCompletionQueue,
  studyInstanceUid: string,
  trigger: StudyCompletionJob['trigger'],
  delayMs: number,
): Promise<void> {
  const trace = traceContextOf();
  await addJob(queue, QUEUES.studyCompletion, { schemaVersion: 1, studyInstanceUid, trigger, ...(trace ? { trace } : {}) }, { delay: delayMs });
}

export interface StudyCompletionWorkerDeps {
  connection: Redis;
  prefix: string;
  concurrency: number;
  processor: Pick<StudyProcessor, 'process'>;
  /** The pseudonymous key of a study (span attributes and logs never carry UIDs). */
  studyKey: (studyInstanceUid: string) => string;
  studiesCompleted: prom.Counter<'outcome'>;
  logger: Logger;
}

export function startStudyCompletionWorker(deps: StudyCompletionWorkerDeps): Worker<unknown, StudyOutcome> {
  const { logger } = deps;
  const worker = createValidatedWorker<StudyCompletionJob, StudyOutcome>({
    queue: QUEUES.studyCompletion,
    connection: deps.connection,
    prefix: deps.prefix,
    logger,
    settings: { concurrency: deps.concurrency },
    spanAttributes: (job) => ({ 'cxr.study_key': deps.studyKey(job.studyInstanceUid), 'cxr.trigger': job.trigger }),
    async handle({ studyInstanceUid }, { span }) {
      const outcome = await deps.processor.process(studyInstanceUid);
      span.setAttributes({ 'cxr.outcome': outcome.kind, ...('version' in outcome ? { 'cxr.version': outcome.version } : {}) });
      deps.studiesCompleted.inc({ outcome: outcome.kind });
      return outcome;
    },
  });
  worker.on('failed', (job, error) => {
    logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, reason: errorMessage(error) }, 'study completion failed');
  });
  return worker;
}
