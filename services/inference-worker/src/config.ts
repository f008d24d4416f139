import { z } from 'zod';
import { booleanSchema, listSchema, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toSharedConfig, type SharedConfig } from '@cxr/platform';

export const envSchema = sharedEnvSchema.extend({
  WORKER_HTTP_HOST: z.string().default('127.0.0.1'),
  WORKER_HTTP_PORT: portSchema.default(8081),
  /** Model package directory; defaults to the reference model shipped in models/reference-cxr. */
  WORKER_MODEL_DIR: z.string().optional(),
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
  /** Jobs in flight per process; their images are batched into shared model calls. */
  WORKER_CONCURRENCY: positiveIntSchema.default(4),
  /** Dynamic batching: most images per model call, and longest wait for a batch to fill. */
  WORKER_BATCH_MAX_IMAGES: positiveIntSchema.max(256).default(8),
  WORKER_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /** Job lock: renewed every half of this while a job runs; a dead worker's job is retaken after it. */
  WORKER_LOCK_DURATION_MS: positiveIntSchema.default(15_000),
  WORKER_STALLED_INTERVAL_MS: positiveIntSchema.default(5_000),
  /** On SIGTERM: stop taking jobs and let running ones finish for at most this long. */
  WORKER_SHUTDOWN_GRACE_MS: positiveIntSchema.default(25_000),
});

export interface WorkerConfig extends SharedConfig {
  http: { host: string; port: number };
  modelDir: string | undefined;
  executionProviders: ('cuda' | 'cpu')[];
  intraOpThreads: number;
  modelThread: boolean;
  concurrency: number;
  batch: { maxImages: number; maxWaitMs: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  shutdownGraceMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const e = parseEnv(envSchema, env);
  return {
    ...toSharedConfig(e),
    http: { host: e.WORKER_HTTP_HOST, port: e.WORKER_HTTP_PORT },
    modelDir: e.WORKER_MODEL_DIR,
    executionProviders: e.WORKER_EXECUTION_PROVIDERS,
    intraOpThreads: e.WORKER_INTRA_OP_THREADS,
    modelThread: e.WORKER_MODEL_THREAD,
    concurrency: e.WORKER_CONCURRENCY,
    batch: { maxImages: e.WORKER_BATCH_MAX_IMAGES, maxWaitMs: e.WORKER_BATCH_MAX_WAIT_MS },
    lockDurationMs: e.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
  };
}
