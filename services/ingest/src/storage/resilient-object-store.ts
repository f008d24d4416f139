/**
 * Object storage as ingest calls it: every request has a timeout and every call a bounded retry.
 *
 * A stalled or stopped object store must not hold a C-STORE or a STOW-RS request for ever (a held
 * C-STORE also holds its association's slot), so each request is abandoned after `timeoutMs` without
 * progress (the client's transport, `ObjectStoreOptions.requestTimeoutMs`) and each call is tried at
 * most `attempts` times, with exponential backoff and jitter between tries. Only transient failures
 * are retried (timeouts, refused or reset connections, 5xx); "not found", "too large" and refusals
 * that a retry cannot change (credentials, missing bucket) fail at once. The worst time a call can
 * take is `worstCaseMs()`: the sender then gets 0xA700 / 503 and retries later.
 *
 * A subclass rather than a wrapper so the study processor, STOW-RS retrieval and the instance store
 * keep taking an `ObjectStore`; the composed methods (`get` over `getStream`, `putJson` over `put`)
 * are not wrapped again, so no call retries inside a retry.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectStore, PermanentError, TransientError, type ObjectInfo, type PutOptions, type S3Settings } from '@cxr/platform';

export interface StorageRetryPolicy {
  /** A request idle this long (no byte either way) is abandoned. */
  timeoutMs: number;
  /** Tries per call, the first included (1 = no retry). */
  attempts: number;
  /** Delay before the first retry; doubled each time, plus up to as much again of jitter. */
  backoffMs: number;
}

/** S3 error codes a retry cannot change: configuration or the request itself is wrong. */
const PERMANENT_S3_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket', 'InvalidBucketName',
  'EntityTooLarge', 'InvalidArgument', 'MethodNotAllowed', 'InvalidRequest',
]);

function s3CodeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Whether another try may succeed. */
export function isRetryableStorageError(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  const code = s3CodeOf(error);
  return code === undefined || !PERMANENT_S3_CODES.has(code);
}

/** The delay before retry number `retry` (1-based): backoff × 2^(retry-1), plus jitter of up to as much again. */
export function backoffDelayMs(policy: StorageRetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = policy.backoffMs * 2 ** (retry - 1);
  return Math.round(base + random() * base);
}

/** The longest a call can take before it fails: every try timing out, plus the longest backoffs. */
export function worstCaseMs(policy: StorageRetryPolicy): number {
  let total = policy.attempts * policy.timeoutMs;
  for (let retry = 1; retry < policy.attempts; retry++) total += 2 * policy.backoffMs * 2 ** (retry - 1);
  return total;
}

/** Runs `call` under the policy; the last failure is thrown (as a TransientError unless it was permanent). */
export async function withStorageRetry<T>(what: string, policy: StorageRetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryableStorageError(error)) throw error;
      if (attempt >= policy.attempts) {
        if (error instanceof TransientError) throw error;
        throw new TransientError(`object storage ${what} failed: ${(error as Error).message}`, { cause: error });
      }
      await sleep(backoffDelayMs(policy, attempt));
    }
  }
}

export class ResilientObjectStore extends ObjectStore {
  constructor(
    settings: S3Settings,
    readonly policy: StorageRetryPolicy,
  ) {
    super(settings, { requestTimeoutMs: policy.timeoutMs });
  }

  private retry<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withStorageRetry(what, this.policy, call);
  }

  override ensureBuckets(buckets: string[]): Promise<void> {
    return this.retry('create buckets', () => super.ensureBuckets(buckets));
  }

  override put(bucket: string, key: string, body: Buffer, contentType: string, options?: PutOptions): Promise<void> {
    return this.retry('put', () => super.put(bucket, key, body, contentType, options));
  }

  override stat(bucket: string, key: string): Promise<ObjectInfo | null> {
    return this.retry('stat', () => super.stat(bucket, key));
  }

  /** The request is retried until the body starts; a body that then stalls fails (after `timeoutMs`) unretried. */
  override getStream(bucket: string, key: string): Promise<Readable> {
    return this.retry('get', () => super.getStream(bucket, key));
  }

  override list(bucket: string, prefix: string): Promise<string[]> {
    return this.retry('list', () => super.list(bucket, prefix));
  }

  override listPrefixes(bucket: string, prefix: string): Promise<string[]> {
    return this.retry('list', () => super.listPrefixes(bucket, prefix));
  }

  override remove(bucket: string, key: string): Promise<void> {
    return this.retry('remove', () => super.remove(bucket, key));
  }

  // ping stays a single try: readiness wants the answer now, not after retries.
}
