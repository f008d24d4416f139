import { describe, expect, test } from 'vitest';
import { ObjectNotFoundError, TransientError } from '@cxr/platform';
import { backoffDelayMs, isRetryableStorageError, withStorageRetry, worstCaseMs, type StorageRetryPolicy } from './resilient-object-store.ts';

const policy: StorageRetryPolicy = { timeoutMs: 50, attempts: 3, backoffMs: 1 };

/** An error as the minio client raises it for an S3 error answer. */
function s3Error(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('storage retry', () => {
  test('retries a transient failure and returns what the next try gives', async () => {
    let calls = 0;
    const value = await withStorageRetry('put', policy, async () => {
      calls += 1;
      if (calls < 3) throw new TransientError('connection refused');
      return 'stored';
    });
    expect(value).toBe('stored');
    expect(calls).toBe(3);
  });

  test('gives up after the configured number of tries with a transient error', async () => {
    let calls = 0;
    const failing = withStorageRetry('put', policy, async () => {
      calls += 1;
      throw new Error('socket hang up');
    });
    await expect(failing).rejects.toBeInstanceOf(TransientError);
    expect(calls).toBe(3);
  });

  test.each([
    ['a missing object', new ObjectNotFoundError('b', 'k')],
    ['refused credentials', new TransientError('object storage put failed', { cause: s3Error('InvalidAccessKeyId') })],
    ['a missing bucket', s3Error('NoSuchBucket')],
  ])('does not retry %s', async (_what, error) => {
    let calls = 0;
    await expect(withStorageRetry('put', policy, async () => {
      calls += 1;
      throw error;
    })).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  test('counts a timeout, a 5xx answer and a reset connection as transient', () => {
    expect(isRetryableStorageError(s3Error('RequestTimeout'))).toBe(true);
    expect(isRetryableStorageError(s3Error('InternalError'))).toBe(true);
    expect(isRetryableStorageError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  test('doubles the backoff with each retry and adds at most as much again of jitter', () => {
    const p = { ...policy, backoffMs: 100 };
    expect([1, 2, 3].map((retry) => backoffDelayMs(p, retry, () => 0))).toEqual([100, 200, 400]);
    expect([1, 2, 3].map((retry) => backoffDelayMs(p, retry, () => 1))).toEqual([200, 400, 800]);
  });

  test('states the worst case as every try timing out plus the longest backoffs', () => {
    expect(worstCaseMs({ timeoutMs: 3000, attempts: 3, backoffMs: 100 })).toBe(3 * 3000 + 200 + 400);
    expect(worstCaseMs({ timeoutMs: 3000, attempts: 1, backoffMs: 100 })).toBe(3000);
  });
});
