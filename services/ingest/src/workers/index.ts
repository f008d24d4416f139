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

/** Stops taking jobs and waits for the running ones. */
export async function closeWorkers(workers: IngestWorkers | undefined): Promise<void> {
  if (!workers) return;
  await Promise.all(Object.values(workers).map((worker) => worker.close()));
}
