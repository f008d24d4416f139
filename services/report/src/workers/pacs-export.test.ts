import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from './pacs-export.ts';

describe('retryDelayMs', () => {
  test('waits 5 s after the first failure and doubles up to 10 minutes', () => {
    const delays = Array.from({ length: 10 }, (_, i) => retryDelayMs(i + 1, DEFAULT_RETRY_POLICY));
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000, 600_000]);
  });

  test('stays at the cap however many attempts failed', () => {
    expect(retryDelayMs(5000, DEFAULT_RETRY_POLICY)).toBe(600_000);
  });

  test('waits at least as long as the PACS asked, but no longer than the cap', () => {
    expect(retryDelayMs(1, DEFAULT_RETRY_POLICY, 60_000)).toBe(60_000);
    expect(retryDelayMs(9, DEFAULT_RETRY_POLICY, 60_000)).toBe(600_000);
    expect(retryDelayMs(1, DEFAULT_RETRY_POLICY, 3 * 3600_000)).toBe(600_000);
  });
});
