import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { parseModelCpus, type ModelCpuSpec } from './models/model-cpus.ts';
import { parseModelRef, parseModelSource, type ModelRef, type ModelSource } from './models/model-ref.ts';
import { ConfigError, booleanSchema, listSchema, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toSharedConfig, type SharedConfig } from '@cxr/platform';

export const envSchema = sharedEnvSchema.extend({
  WORKER_HTTP_HOST: z.string().default('127.0.0.1'),
  WORKER_HTTP_PORT: portSchema.default(8081),
  /** A model package directory used as it is (no registry); the default when WORKER_MODEL is unset is the reference model in models/reference-cxr. */
  WORKER_MODEL_DIR: z.string().min(1).optional(),
  /** The model version to run, `id@version`, looked up in WORKER_MODEL_SOURCE (the Redis key `{QUEUE_PREFIX}:worker:model` overrides it once set). */
  WORKER_MODEL: z.string().min(1).optional(),
  /** Where `id@version` is found: a directory (default: the repo's models/) or `s3://bucket[/prefix]`. */
  WORKER_MODEL_SOURCE: z.string().min(1).optional(),
  /**
   * Shadow mode: a candidate version (`id@version` from WORKER_MODEL_SOURCE) run beside the active
   * one on every study. Its results are stored apart and only compared (GET /api/model-performance);
   * never drafts. Empty: off.
   */
  WORKER_SHADOW_MODEL: z.string().default(''),
  /** Where packages downloaded from a bucket are kept (checked again before each use). */
  WORKER_MODEL_CACHE_DIR: z.string().min(1).optional(),
  /** How often the model key is read, in ms (0 = only on SIGHUP). */
  WORKER_MODEL_POLL_MS: z.coerce.number().int().min(0).default(10_000),
  /** `cpu`, or `cuda,cpu` to use the GPU when its libraries load (falls back to CPU otherwise). */
  WORKER_EXECUTION_PROVIDERS: listSchema.pipe(z.array(z.enum(['cuda', 'cpu'])).min(1)).default(['cpu']),
  /**
   * CPU threads per model call; 0 = onnxruntime's choice (one per core). 1 by default: on the
   * 2-core reference machine one thread ran the reference model ~1.8× faster per image, at half
   * the CPU, than onnxruntime's default, whose spinning pool threads compete with the I/O.
   */
  WORKER_INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(1),
  /** Run the model in a worker thread (onnxruntime-node's run blocks the event loop), so I/O overlaps inference. */
  WORKER_MODEL_THREAD: booleanSchema.default(true),
  /**
   * CPUs of the model's own (a CPU list: "1", "2-3"; or "last" / "last:N", the last N of the CPUs the
   * process may use, for pods whose CPU numbers are not known in advance): the model thread runs on them
   * and every other thread of the process on the rest (Linux, taskset). Unset by default: every thread
   * may run anywhere.
   */
  WORKER_MODEL_CPUS: z.string().regex(/^(\d+(-\d+)?(,\d+(-\d+)?)*|last(:[1-9]\d*)?)$/, 'a CPU list such as "1", "0,2" or "2-3", or "last" / "last:N" (the last N CPUs the process may use)').optional(),
  /** Development only: serve a package that has no out-of-distribution detector (manifest `ood`). */
  WORKER_ALLOW_MODELS_WITHOUT_OOD: booleanSchema.default(false),
  /**
   * Jobs in flight per process; their images are batched into shared model calls. 32 by default,
   * (WORKER_BATCHES_IN_FLIGHT + 1) full batches of 8: a batch keeps its jobs until its second graph
   * run (text, or the inverted-image check) has had its turn behind the next batch, and a full batch
   * must still be able to form meanwhile; with fewer the model waits on the jobs' storage and queue
   * round trips (4 in flight kept it about half idle; bench/README.md), and batches stay small.
   */
  WORKER_CONCURRENCY: positiveIntSchema.default(32),
  /** Dynamic batching: most images per model call, and longest wait for a batch to fill. */
  WORKER_BATCH_MAX_IMAGES: positiveIntSchema.max(256).default(8),
  WORKER_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /**
   * Batches handed to the model at once (a batch that is not full waits until none runs). 3 by
   * default: the model thread always has the next batch queued while this thread finishes the last
   * (heatmaps, templated text, storage), and a batch waiting for its second graph run does not hold
   * the next one back.
   */
  WORKER_BATCHES_IN_FLIGHT: positiveIntSchema.max(8).default(3),
  /** Job lock: renewed every half of this while a job runs; a dead worker's job is retaken after it. */
  WORKER_LOCK_DURATION_MS: positiveIntSchema.default(15_000),
  WORKER_STALLED_INTERVAL_MS: positiveIntSchema.default(5_000),
  /** On SIGTERM: stop taking jobs and let running ones finish for at most this long. */
  WORKER_SHUTDOWN_GRACE_MS: positiveIntSchema.default(25_000),
});

export interface WorkerConfig extends SharedConfig {
  http: { host: string; port: number };
  /** The first model to load: a directory as it is, or a version from `modelSource`. */
  model: { kind: 'dir'; dir: string } | { kind: 'ref'; ref: ModelRef };
  modelSource: ModelSource;
  /** The shadow version (WORKER_SHADOW_MODEL), or undefined: no shadow. */
  shadowModel: ModelRef | undefined;
  modelCacheDir: string;
  modelPollMs: number;
  executionProviders: ('cuda' | 'cpu')[];
  intraOpThreads: number;
  modelThread: boolean;
  /** WORKER_MODEL_CPUS, parsed; undefined: no affinity set. */
  modelCpus: ModelCpuSpec | undefined;
  allowModelsWithoutOod: boolean;
  concurrency: number;
  batch: { maxImages: number; maxWaitMs: number; inFlight: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  shutdownGraceMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const e = parseEnv(envSchema, env);
  if (e.WORKER_MODEL && e.WORKER_MODEL_DIR) throw new ConfigError('Invalid configuration: set WORKER_MODEL (id@version from WORKER_MODEL_SOURCE) or WORKER_MODEL_DIR (a package directory), not both');
  if (e.WORKER_MODEL_CPUS !== undefined && !e.WORKER_MODEL_THREAD) throw new ConfigError('Invalid configuration: WORKER_MODEL_CPUS needs WORKER_MODEL_THREAD=true (the CPUs are the model thread\'s)');
  let model: WorkerConfig['model'];
  let modelSource: ModelSource;
  let shadowModel: ModelRef | undefined;
  try {
    shadowModel = e.WORKER_SHADOW_MODEL.trim() ? parseModelRef(e.WORKER_SHADOW_MODEL.trim()) : undefined;
  } catch (error) {
    throw new ConfigError(`Invalid configuration: WORKER_SHADOW_MODEL: ${(error as Error).message}`);
  }
  try {
    model = e.WORKER_MODEL ? { kind: 'ref', ref: parseModelRef(e.WORKER_MODEL) } : { kind: 'dir', dir: e.WORKER_MODEL_DIR ?? referenceModelDir };
    modelSource = parseModelSource(e.WORKER_MODEL_SOURCE ?? dirname(referenceModelDir));
  } catch (error) {
    throw new ConfigError(`Invalid configuration: WORKER_MODEL / WORKER_MODEL_SOURCE: ${(error as Error).message}`);
  }
  return {
    ...toSharedConfig(e),
    http: { host: e.WORKER_HTTP_HOST, port: e.WORKER_HTTP_PORT },
    model,
    modelSource,
    shadowModel,
    modelCacheDir: e.WORKER_MODEL_CACHE_DIR ?? join(tmpdir(), 'cxr-model-cache'),
    modelPollMs: e.WORKER_MODEL_POLL_MS,
    executionProviders: e.WORKER_EXECUTION_PROVIDERS,
    intraOpThreads: e.WORKER_INTRA_OP_THREADS,
    modelThread: e.WORKER_MODEL_THREAD,
    modelCpus: e.WORKER_MODEL_CPUS === undefined ? undefined : parseModelCpus(e.WORKER_MODEL_CPUS),
    allowModelsWithoutOod: e.WORKER_ALLOW_MODELS_WITHOUT_OOD,
    concurrency: e.WORKER_CONCURRENCY,
    batch: { maxImages: e.WORKER_BATCH_MAX_IMAGES, maxWaitMs: e.WORKER_BATCH_MAX_WAIT_MS, inFlight: e.WORKER_BATCHES_IN_FLIGHT },
    lockDurationMs: e.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
  };
}
