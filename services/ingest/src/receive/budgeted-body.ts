/**
 * Reads a STOW-RS request body into memory within the shared receive budget, instead of
 * `express.raw`, which buffers whatever arrives:
 * - at most `maxConcurrent` bodies are read at once; one more is answered 503 with Retry-After;
 * - a Content-Length over `maxBytes` is answered 413 before anything is read; one the budget
 *   cannot hold is answered 503 with Retry-After, before anything is read;
 * - streamed bytes (chunked bodies, or more than announced) are reserved as they arrive; when
 *   the budget or `maxBytes` would be exceeded, the request is answered at once and its
 *   connection closed, nothing more read.
 * - a body arriving slower than `minBytesPerSecond` over a `windowMs` window is answered 408 and
 *   its connection closed, so slow senders cannot hold the concurrency slots.
 * What was reserved is released when the response is finished (the parts are stored by then).
 * A Content-Length body is read straight into one buffer of that size: no second copy.
 */
import { AsyncResource } from 'node:async_hooks';
import type { RequestHandler, Response } from 'express';
import type { ReceiveBudget } from '@cxr/dimse';

export interface BudgetedBodyOptions {
  budget: ReceiveBudget;
  maxBytes: number;
  maxConcurrent: number;
  /** Seconds a sender refused for want of memory or a slot is told to wait. */
  retryAfterSeconds: number;
  /** Minimum rate while the body arrives (0 = none), measured over `windowMs`. */
  minBytesPerSecond: number;
  windowMs: number;
  /** Told of each refusal, by reason (for metrics). */
  onRefused?(reason: 'busy' | 'too-large' | 'memory' | 'slow'): void;
}

const REASONS = { busy: 'busy', 'too-large': 'too-large', 'out-of-memory-budget': 'memory', 'too-slow': 'slow' } as const;

function refuse(res: Response, status: 408 | 413 | 503, code: keyof typeof REASONS, message: string, retryAfterSeconds: number, onRefused?: BudgetedBodyOptions['onRefused']): void {
  if (res.headersSent) return;
  onRefused?.(REASONS[code]);
  if (status === 503) res.set('Retry-After', String(retryAfterSeconds));
  // The rest of the body is not read: the connection cannot be reused.
  res.set('Connection', 'close');
  res.status(status).json({ error: { code, message } });
}

export function budgetedRawBody(options: BudgetedBodyOptions): RequestHandler {
  let active = 0;
  return (req, res, next) => {
    // The body's events run in the context the request stream was made in, before the request's
    // span began: `next` is bound to this one, so storing the parts stays inside the request's trace.
    const proceed = AsyncResource.bind(next);
    const { budget, maxBytes, retryAfterSeconds } = options;
    if (active >= options.maxConcurrent) {
      refuse(res, 503, 'busy', `already receiving ${options.maxConcurrent} STOW-RS requests, retry later`, retryAfterSeconds, options.onRefused);
      return;
    }
    const declared = req.get('content-length');
    const announced = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (announced !== undefined && announced > maxBytes) {
      refuse(res, 413, 'too-large', `request body of ${announced} bytes exceeds the ${maxBytes}-byte limit`, retryAfterSeconds, options.onRefused);
      return;
    }
    let reserved = 0;
    if (announced !== undefined) {
      if (!budget.tryReserve(announced)) {
        refuse(res, 503, 'out-of-memory-budget', 'receive memory full, retry later', retryAfterSeconds, options.onRefused);
        return;
      }
      reserved = announced;
    }
    active += 1;
    let done = false;
    let windowBytes = 0;
    const rateTimer = options.minBytesPerSecond > 0 ? setInterval(() => {
      if (windowBytes < (options.minBytesPerSecond * options.windowMs) / 1000) {
        fail(408, 'too-slow', `request body arriving slower than ${options.minBytesPerSecond} bytes/s`);
      }
      windowBytes = 0;
    }, options.windowMs) : undefined;
    const finish = (): void => {
      clearInterval(rateTimer);
      if (done) return;
      done = true;
      active -= 1;
      budget.release(reserved);
      reserved = 0;
    };
    res.on('close', finish);

    const whole = announced !== undefined ? Buffer.allocUnsafe(announced) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let failed = false;
    const fail = (status: 408 | 413 | 503, code: keyof typeof REASONS, message: string): void => {
      clearInterval(rateTimer);
      if (failed) return;
      failed = true;
      req.pause();
      refuse(res, status, code, message, retryAfterSeconds, options.onRefused);
      res.once('finish', () => req.destroy());
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      windowBytes += chunk.length;
      const next = received + chunk.length;
      if (next > maxBytes) return fail(413, 'too-large', `request body exceeds the ${maxBytes}-byte limit`);
      if (next > reserved) {
        if (!budget.tryReserve(next - reserved)) return fail(503, 'out-of-memory-budget', 'receive memory full, retry later');
        reserved = next;
      }
      if (whole !== undefined && next <= whole.length) chunk.copy(whole, received);
      else chunks.push(chunk);
      received = next;
    });
    req.on('error', () => {
      failed = true;
      finish();
    });
    req.on('end', () => {
      clearInterval(rateTimer);
      if (failed) return;
      if (whole !== undefined && received === whole.length) req.body = whole;
      else if (whole !== undefined) req.body = Buffer.concat([whole.subarray(0, Math.min(received, whole.length)), ...chunks]);
      else req.body = Buffer.concat(chunks, received);
      chunks.length = 0;
      proceed();
    });
  };
}
