// A model package run in a worker thread, behind the same `ModelPackage` interface.
//
// Why: onnxruntime-node's `session.run` is synchronous (the promise only defers it with
// setImmediate), so in-process inference blocks the event loop for the whole batch, and a service
// cannot read the next inputs or store the last outputs meanwhile. In a thread, the model and the
// service's I/O use separate cores. Images are copied to the thread (structured clone), not
// transferred: a caller may run the same images again (the micro-batcher re-runs a failed batch
// request by request).
import { Worker } from 'node:worker_threads';
import { ModelPackageError, ModelUnavailableError } from './errors.ts';
import type { ModelManifest } from './manifest.ts';
import type { ImageAnalysis, LoadOptions, ModelPackage } from './model-package.ts';
import type { PresentationImage } from './preprocess.ts';

/** Messages to the thread. */
export type ThreadRequest = { type: 'analyse'; id: number; images: PresentationImage[] } | { type: 'close' };
interface SerialisedError { name: string; message: string }
/** Messages from the thread. */
export type ThreadReply =
  | { type: 'ready'; manifest: ModelManifest; sha256: string; executionProvider: ModelPackage['executionProvider']; fallback: ModelPackage['fallback']; scope: ModelPackage['scope']; hasOodDetector: boolean }
  | { type: 'load-failed'; error: SerialisedError }
  | { type: 'result'; id: number; analyses: ImageAnalysis[] }
  | { type: 'failed'; id: number; error: SerialisedError };

export interface ThreadedModelPackage extends ModelPackage {
  /** Settles when the thread has ended: after `close()`, or with an error if it died. */
  readonly exited: Promise<void>;
}

/**
 * The thread runs this package's TypeScript. Node 20 does not pass tsx's loader (`--import tsx`)
 * on to worker threads, so the thread registers it itself before importing the entry module.
 */
function threadBootstrap(): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./model-thread-entry.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

/**
 * Loads `dir` in a new thread with the same checks as `loadModelPackage` (it throws the same
 * `ModelPackageError`s) and returns once the thread's sessions are ready.
 */
export async function loadModelPackageInThread(dir: string, options: LoadOptions = {}): Promise<ThreadedModelPackage> {
  const worker = new Worker(threadBootstrap(), { eval: true, workerData: { dir, options } });
  const pending = new Map<number, { resolve: (a: ImageAnalysis[]) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let closing = false;
  let gone: Error | undefined;

  const exited = new Promise<void>((resolve, reject) => {
    const end = (error: Error | undefined): void => {
      gone = error ?? new ModelUnavailableError('the model thread has been closed');
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      if (error && !closing) reject(error);
      else resolve();
    };
    worker.once('error', (error) => end(new ModelUnavailableError(`the model thread failed: ${error.message}`, { cause: error })));
    worker.once('exit', (code) => end(closing || code === 0 ? undefined : new ModelUnavailableError(`the model thread exited with code ${code}`)));
  });
  exited.catch(() => undefined); // observed through `exited` by whoever cares; never unhandled

  const ready = await new Promise<Extract<ThreadReply, { type: 'ready' }>>((resolve, reject) => {
    worker.once('message', (reply: ThreadReply) => {
      if (reply.type === 'ready') resolve(reply);
      else if (reply.type === 'load-failed') reject(reply.error.name === 'ModelPackageError' ? new ModelPackageError(reply.error.message) : new Error(reply.error.message));
      else reject(new Error(`unexpected first message from the model thread: ${reply.type}`));
    });
    exited.then(() => reject(gone), reject);
  });

  worker.on('message', (reply: ThreadReply) => {
    if (reply.type !== 'result' && reply.type !== 'failed') return;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.type === 'result') p.resolve(reply.analyses);
    else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  });

  return {
    manifest: ready.manifest,
    sha256: ready.sha256,
    executionProvider: ready.executionProvider,
    fallback: ready.fallback,
    scope: ready.scope,
    hasOodDetector: ready.hasOodDetector,
    exited,
    analyse(images: PresentationImage[]): Promise<ImageAnalysis[]> {
      if (gone) return Promise.reject(gone);
      if (images.length === 0) return Promise.resolve([]);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'analyse', id, images } satisfies ThreadRequest);
      });
    },
    async close(): Promise<void> {
      if (!gone && !closing) {
        closing = true;
        worker.postMessage({ type: 'close' } satisfies ThreadRequest);
      }
      await exited.catch(() => undefined);
    },
  };
}
