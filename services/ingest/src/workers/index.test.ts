import type { Worker } from 'bullmq';
import { describe, expect, test } from 'vitest';
import { closeWorkers } from './index.ts';

/** A worker whose gentle close never ends (BullMQ blocked on Redis after a restart) until forced. */
function stuckWorker(): { worker: Worker; calls: boolean[] } {
  const calls: boolean[] = [];
  const worker = {
    close: (force?: boolean) => {
      calls.push(force === true);
      return force ? Promise.resolve() : new Promise<void>(() => undefined);
    },
  } as unknown as Worker;
  return { worker, calls };
}

describe('closeWorkers', () => {
  test('closes by force once the grace period is over when a gentle close hangs', async () => {
    const { worker, calls } = stuckWorker();
    await closeWorkers({ studyCompletion: worker }, 20);
    expect(calls).toEqual([false, true]);
  });

  test('does not force a worker that closes within the grace period', async () => {
    const calls: boolean[] = [];
    const worker = { close: (force?: boolean) => (calls.push(force === true), Promise.resolve()) } as unknown as Worker;
    await closeWorkers({ studyCompletion: worker }, 1000);
    expect(calls).toEqual([false]);
  });
});
