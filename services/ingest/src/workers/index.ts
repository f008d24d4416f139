/** The queue workers ingest runs (one file per queue beside this one), started and closed together. */
import type { Worker } from 'bullmq';
import { startStudyCompletionWorker, type StudyCompletionWorkerDeps } from './study-completion.ts';

export type IngestWorkersDeps = StudyCompletionWorkerDeps;

export interface IngestWorkers {
  studyCompletion: Worker;
}

export function initWorkers(deps: IngestWorkersDeps): IngestWorkers {
  return { studyCompletion: startStudyCompletionWorker(deps) };
}

/**
 * Stops taking jobs and waits for the running ones, at most `graceMs`; then closes by force. A job
 * cut short is not lost: its lock lapses and another ingest process (or this one, restarted) runs it
 * again (completion jobs are idempotent). The bound matters because BullMQ's close can wait for ever
 * on a blocking Redis command after Redis itself restarted.
 */
export async function closeWorkers(workers: IngestWorkers | undefined, graceMs = 10_000): Promise<void> {
  if (!workers) return;
  await Promise.all(
    Object.values(workers).map(async (worker) => {
      let timer: NodeJS.Timeout | undefined;
      const gentle = worker.close().then(() => true, () => false);
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const closed = await Promise.race([gentle, late]);
      clearTimeout(timer);
      if (!closed) await worker.close(true);
    }),
  );
}
