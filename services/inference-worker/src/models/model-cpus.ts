// WORKER_MODEL_CPUS: CPUs of the model's own. The model thread runs on them (it sets its own
// affinity before opening its sessions, libs/inference cpu-affinity.ts), and every other thread of
// this process (the event loop, libuv's pool, V8's helpers, and threads they start later) is kept
// on the rest, so storage, queue and the analysis around the model never take its core from it.
import { allowedCpus, parseCpuList, processThreadIds, setThreadCpus } from '@cxr/inference';

/** WORKER_MODEL_CPUS: CPU numbers, or the last `count` CPUs the process may use. */
export type ModelCpuSpec = { kind: 'list'; cpus: number[] } | { kind: 'last'; count: number };

export function parseModelCpus(value: string): ModelCpuSpec {
  const last = /^last(?::(\d+))?$/.exec(value);
  if (last) return { kind: 'last', count: last[1] ? Number(last[1]) : 1 };
  return { kind: 'list', cpus: parseCpuList(value) };
}

export interface ModelCpus {
  /** The model threads' CPUs. */
  model: number[];
  /** Everyone else's. */
  rest: number[];
  /** Puts every thread of this process but `modelThreads` on `rest`. */
  keepOthersOff(modelThreads: readonly number[]): void;
}

/** The CPUs `spec` names here; refuses one this process may not use, or a spec that leaves none for the rest. */
export function modelCpusOf(spec: ModelCpuSpec): ModelCpus {
  const allowed = allowedCpus();
  const model = spec.kind === 'list' ? spec.cpus : allowed.slice(-spec.count);
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
