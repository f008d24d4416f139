/** The queue workers the inference worker runs (one file per queue beside this one), started and closed together. */
import { startAnalysisWorker, type AnalysisWorkerDeps } from './analysis.ts';

export type WorkerServiceWorkersDeps = AnalysisWorkerDeps;

export interface WorkerServiceWorkers {
  analysis: ReturnType<typeof startAnalysisWorker>;
}

export function initWorkers(deps: WorkerServiceWorkersDeps): WorkerServiceWorkers {
  return { analysis: startAnalysisWorker(deps) };
}

/** Stops taking jobs; running ones get `graceMs` to finish before they are handed back. */
export async function closeWorkers(workers: WorkerServiceWorkers | undefined, graceMs: number): Promise<void> {
  if (!workers) return;
  await workers.analysis.close(graceMs);
}
