/**
 * IsolatedFrameDecoder: decodeFrame in a worker thread, with a time limit.
 *
 * Why: the WASM decoders run synchronously and cannot be interrupted. A hostile compressed frame
 * kept a fresh JPEG-LS decoder busy ~14 s here before it was refused, and a decoder left in a bad
 * state once spun for minutes. A worker can be terminated; the main thread (HTTP server, queue
 * heartbeats) keeps running. A timed-out or crashed worker is replaced on the next call.
 *
 * The worker is TypeScript run through tsx (the project runs everything with tsx, no build step):
 * the bootstrap registers tsx's ESM loader in the worker before importing it, which also works
 * under vitest, whose own transform does not reach worker threads.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  DicomError,
  DicomParseError,
  DicomValidationError,
  PixelDataError,
  UnsupportedTransferSyntaxError,
} from './errors.ts';
import type { DecodeReply, DecodeRequest } from './frame-decoder-worker.ts';
import type { DecodedFrame } from './pixel-data.ts';

export interface IsolatedFrameDecoderOptions {
  /** Time limit per frame, including parsing; default 30 s. Past it: PixelDataError 'decode_timeout'. */
  timeoutMs?: number;
  /** Passed to parseInstance in the worker. */
  maxBytes?: number;
  /** V8 heap limit of the worker (MB); WASM memory is outside it. Default 1024. */
  maxHeapMb?: number;
}

/** The worker died or could not start: not the input's fault, so retryable. */
export class DecoderWorkerError extends Error {
  override name = 'DecoderWorkerError';
  readonly permanent = false;
}

const workerUrl = new URL('./frame-decoder-worker.ts', import.meta.url).href;
const tsxApiUrl = resolveTsxEsmApi();

/** URL of tsx's ESM register API (its "import" export; the CommonJS one cannot register ESM hooks). */
function resolveTsxEsmApi(): string {
  const packageJson = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = (createRequire(import.meta.url)('tsx/package.json') as { exports: Record<string, { import?: { default?: string } | string }> }).exports;
  const entry = exports['./esm/api']?.import;
  const relative = typeof entry === 'string' ? entry : (entry?.default ?? './dist/esm/api/index.mjs');
  return pathToFileURL(join(dirname(packageJson), relative)).href;
}
const BOOTSTRAP = `
import(${JSON.stringify(tsxApiUrl)})
  .then((api) => { (api.register ?? api.default.register)(); return import(${JSON.stringify(workerUrl)}); })
  .catch((error) => { setImmediate(() => { throw error; }); });
`;

export class IsolatedFrameDecoder {
  private worker: Worker | undefined;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly timeoutMs: number;

  constructor(private readonly options: IsolatedFrameDecoderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Parse `bytes` and decode frame `frameIndex` in the worker. Rejects with the same DicomError
   * subclasses (and reasons) as parseInstance/decodeFrame, PixelDataError 'decode_timeout' after
   * the time limit, or DecoderWorkerError if the worker itself failed. Calls run one at a time.
   */
  decode(bytes: Uint8Array, frameIndex: number): Promise<DecodedFrame> {
    const run = this.queue.then(() => this.decodeNow(bytes, frameIndex));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stop the worker. Pending calls finish first. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private startWorker(): Worker {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 1024 },
    });
    worker.unref(); // an idle decoder must not keep the process alive
    return worker;
  }

  private decodeNow(bytes: Uint8Array, frameIndex: number): Promise<DecodedFrame> {
    if (this.closed) return Promise.reject(new DecoderWorkerError('the decoder is closed'));
    const worker = (this.worker ??= this.startWorker());
    const id = this.nextId++;
    return new Promise<DecodedFrame>((resolve, reject) => {
      const finish = (settle: () => void, discardWorker: boolean) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (discardWorker && this.worker === worker) {
          this.worker = undefined;
          void worker.terminate();
        }
        settle();
      };
      const onMessage = (reply: DecodeReply) => {
        if (reply.id !== id) return;
        finish(() => (reply.ok ? resolve(reply.frame) : reject(reviveError(reply.error))), false);
      };
      const onError = (error: Error) =>
        finish(() => reject(new DecoderWorkerError(`decoder worker failed: ${error.message}`, { cause: error })), true);
      const onExit = (code: number) =>
        finish(() => reject(new DecoderWorkerError(`decoder worker exited with code ${code}`)), true);
      const timer = setTimeout(
        () =>
          finish(
            () => reject(new PixelDataError('decode_timeout', `decoding took longer than ${this.timeoutMs} ms; gave up`)),
            true,
          ),
        this.timeoutMs,
      );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const request: DecodeRequest = { id, bytes, frameIndex, maxBytes: this.options.maxBytes };
      worker.postMessage(request); // copies bytes; the caller keeps its buffer
    });
  }
}

function reviveError(error: Extract<DecodeReply, { ok: false }>['error']): Error {
  const reason = error.reason ?? 'unknown';
  switch (error.name) {
    case 'DicomParseError':
      return new DicomParseError(reason, error.message);
    case 'DicomValidationError':
      return new DicomValidationError(reason, error.message);
    case 'UnsupportedTransferSyntaxError':
      return new UnsupportedTransferSyntaxError(error.transferSyntaxUid ?? '', error.message);
    case 'PixelDataError':
      return new PixelDataError(reason, error.message);
    default:
      if (error.reason !== undefined) return new DicomError(reason, error.message);
      if (error.name === 'RangeError') return new RangeError(error.message);
      return new DecoderWorkerError(`${error.name}: ${error.message}`);
  }
}
