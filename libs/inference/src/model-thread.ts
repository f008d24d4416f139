// A model package whose graphs run in a worker thread, behind the same `ModelPackage` interface.
//
// Why: onnxruntime-node's `session.run` is synchronous (the promise only defers it with
// setImmediate), so in-process inference blocks the event loop for the whole batch, and a service
// cannot read the next inputs or store the last outputs meanwhile. The thread runs nothing but
// session.run (the engine, model-engine.ts): preprocessing, the scope decision, heatmaps and
// templated text run in the caller's thread (model-package.ts), so the model thread is free for
// the next batch while the last one is finished, and a caller that keeps a second batch queued
// (the worker's micro-batcher) keeps it busy back to back. Tensors are copied both ways
// (structured clone): a caller may run the same images again (the micro-batcher re-runs a failed
// batch request by request), and onnxruntime's output buffers are its own.
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ModelPackageError, ModelUnavailableError } from './errors.ts';
import type { LoadOptions, ModelEngine } from './model-engine.ts';
import { modelPackageOf, type ModelPackage } from './model-package.ts';
import { readModelPackage } from './package-reader.ts';
import type { DecodedText } from './text-decoder.ts';

/** A tensor as it crosses the thread boundary. */
export interface WireTensor { type: ort.Tensor['type']; data: ort.Tensor['data']; dims: readonly number[] }

/** Messages to the thread. */
export type ThreadRequest =
  | { type: 'vision'; id: number; input: WireTensor }
  | { type: 'text'; id: number; from: WireTensor }
  | { type: 'close' };
interface SerialisedError { name: string; message: string }
/** Messages from the thread. */
export type ThreadReply =
  | { type: 'ready'; sha256: string; executionProvider: ModelEngine['executionProvider']; fallback: ModelEngine['fallback']; threadId: number }
  | { type: 'load-failed'; error: SerialisedError }
  | { type: 'vision-result'; id: number; outputs: Record<string, WireTensor>; ms: number }
  | { type: 'text-result'; id: number; texts: DecodedText[]; ms: number }
  | { type: 'failed'; id: number; error: SerialisedError };

export const toWire = (t: ort.Tensor): WireTensor => ({ type: t.type, data: t.data, dims: t.dims });
export const fromWire = (w: WireTensor): ort.Tensor => new ort.Tensor(w.type as 'float32', w.data as Float32Array, w.dims);

export interface ThreadedModelPackage extends ModelPackage {
  /** Settles when the thread has ended: after `close()`, or with an error if it died. */
  readonly exited: Promise<void>;
  /** The model thread's kernel thread id (Linux), e.g. to keep other threads off its CPUs. */
  readonly threadId: number;
}

export interface ThreadOptions {
  /** CPUs the model thread (and the onnxruntime threads it starts) runs on; default: the process's. */
  cpus?: readonly number[];
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
 * Loads `dir` with the same checks as `loadModelPackage` (it throws the same `ModelPackageError`s):
 * the new thread reads and checks every file and opens the sessions, then this thread reads the
 * manifest and the files the analysis needs. Returns once the sessions are ready.
 */
export async function loadModelPackageInThread(dir: string, options: LoadOptions = {}, thread: ThreadOptions = {}): Promise<ThreadedModelPackage> {
  const worker = new Worker(threadBootstrap(), { eval: true, workerData: { dir, options, cpus: thread.cpus ? [...thread.cpus] : null } });
  const pending = new Map<number, { resolve: (reply: ThreadReply) => void; reject: (e: Error) => void }>();
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
  // The thread has checked every file (its refusal is the one in-process loading gives); this
  // thread reads the manifest and the files the analysis needs.
  let parts: Awaited<ReturnType<typeof readModelPackage>>;
  try {
    parts = await readModelPackage(dir, { graphs: false });
  } catch (error) {
    closing = true;
    worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    await exited.catch(() => undefined);
    throw error;
  }
  if (ready.sha256 !== parts.sha256) {
    closing = true;
    worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    await exited.catch(() => undefined);
    throw new ModelPackageError(`manifest.json: changed while the package was loading (${parts.sha256} here, ${ready.sha256} in the model thread)`);
  }

  worker.on('message', (reply: ThreadReply) => {
    if (reply.type !== 'vision-result' && reply.type !== 'text-result' && reply.type !== 'failed') return;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.type === 'failed') p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    else p.resolve(reply);
  });

  function call(request: Extract<ThreadRequest, { id: number }>): Promise<ThreadReply> {
    if (gone) return Promise.reject(gone);
    return new Promise((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  }

  const engine: ModelEngine = {
    executionProvider: ready.executionProvider,
    fallback: ready.fallback,
    async vision(input) {
      const reply = (await call({ type: 'vision', id: nextId++, input: toWire(input) })) as Extract<ThreadReply, { type: 'vision-result' }>;
      return { outputs: Object.fromEntries(Object.entries(reply.outputs).map(([name, t]) => [name, fromWire(t)])), ms: reply.ms };
    },
    async text(from) {
      const reply = (await call({ type: 'text', id: nextId++, from: toWire(from) })) as Extract<ThreadReply, { type: 'text-result' }>;
      return { texts: reply.texts, ms: reply.ms };
    },
    async close() {
      if (!gone && !closing) {
        closing = true;
        worker.postMessage({ type: 'close' } satisfies ThreadRequest);
      }
      await exited.catch(() => undefined);
    },
  };
  return { ...modelPackageOf(parts, engine), exited, threadId: ready.threadId };
}
