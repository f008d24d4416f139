// WORKER_MODEL_CPUS: CPUs of the model's own. The model thread runs on them (it sets its own
// affinity before opening its sessions, libs/inference cpu-affinity.ts), and every other thread of
// this process (the event loop, libuv's pool, V8's helpers, and threads they start later) is kept
// on the rest, so storage, queue and the analysis around the model never take its core from it.
import { allowedCpus, processThreadIds, setThreadCpus } from '@cxr/inference';

export interface ModelCpus {
  /** The model threads' CPUs. */
  model: number[];
  /** Everyone else's. */
  rest: number[];
  /** Puts every thread of this process but `modelThreads` on `rest`. */
  keepOthersOff(modelThreads: readonly number[]): void;
}

/** Refuses a list that names a CPU this process may not use, or that leaves none for the rest. */
export function modelCpusOf(model: readonly number[]): ModelCpus {
  const allowed = allowedCpus();
  const outside = model.filter((c) => !allowed.includes(c));
  if (outside.length > 0) throw new Error(`WORKER_MODEL_CPUS names CPU ${outside.join(', ')}, which this process may not use (allowed: ${allowed.join(', ')})`);
  const rest = allowed.filter((c) => !model.includes(c));
  if (rest.length === 0) throw new Error(`WORKER_MODEL_CPUS leaves no CPU for the rest of the worker (allowed: ${allowed.join(', ')}): leave it unset on a node this small`);
  return {
    model: [...model],
    rest,
    keepOthersOff(modelThreads) {
      for (const tid of processThreadIds()) {
        if (modelThreads.includes(tid)) continue;
        try {
          setThreadCpus(tid, rest);
        } catch (error) {
          // A thread that ended meanwhile has nothing left to move.
          if (processThreadIds().includes(tid)) throw error;
        }
      }
    },
  };
}
