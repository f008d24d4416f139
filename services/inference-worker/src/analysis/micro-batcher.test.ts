import { describe, expect, test, vi } from 'vitest';
import { MicroBatcher } from './micro-batcher.ts';

function doubler(calls: number[][]) {
  return async (items: number[]) => {
    calls.push([...items]);
    await new Promise((r) => setTimeout(r, 5));
    return items.map((x) => x * 2);
  };
}

describe('MicroBatcher', () => {
  test('runs requests that arrive together as one batch and gives each caller its own results', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher({ maxItems: 8, maxWaitMs: 20, run: doubler(calls) });
    const results = await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
    expect(results).toEqual([[2], [4, 6], [8]]);
    expect(calls).toEqual([[1, 2, 3, 4]]);
  });

  test('flushes at once when the batch is full, and never splits a request', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher({ maxItems: 3, maxWaitMs: 10_000, run: doubler(calls) });
    const results = await Promise.all([batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5])]);
    expect(results).toEqual([[2, 4], [6, 8], [10]]);
    expect(calls).toEqual([[1, 2], [3, 4, 5]]);
  });

  test('runs a lone request after the maximum wait', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher({ maxItems: 8, maxWaitMs: 5, run: doubler(calls) });
    expect(await batcher.submit([7])).toEqual([14]);
    expect(calls).toEqual([[7]]);
  });

  test('a request that waited through the running batch runs as soon as that batch ends, without waiting again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const starts: [number[], number][] = [];
      const batcher = new MicroBatcher<number, number>({
        maxItems: 8, maxWaitMs: 50,
        run: async (items) => {
          starts.push([items, performance.now()]);
          await new Promise((r) => setTimeout(r, 60));
          return items;
        },
      });
      const t0 = performance.now();
      const first = batcher.submit([1]); // runs from 50 ms to 110 ms
      await vi.advanceTimersByTimeAsync(60);
      const second = batcher.submit([2]); // arrives while the first runs
      await vi.advanceTimersByTimeAsync(40);
      const third = batcher.submit([3]);
      await vi.advanceTimersByTimeAsync(500);
      expect(await Promise.all([first, second, third])).toEqual([[1], [2], [3]]);
      // When the first ends (110 ms) the oldest waiting request has waited 50 ms already: the next
      // batch starts then (on the next timer tick), not after a second 50 ms wait.
      expect(starts.map(([items]) => items)).toEqual([[1], [2, 3]]);
      expect(starts[0]![1] - t0).toBe(50);
      expect(starts[1]![1] - t0).toBeGreaterThanOrEqual(110);
      expect(starts[1]![1] - t0).toBeLessThanOrEqual(111);
    } finally {
      vi.useRealTimers();
    }
  });

  test('a bad input fails only its own request, not the others batched with it', async () => {
    const batcher = new MicroBatcher<number, number>({
      maxItems: 8, maxWaitMs: 5,
      run: async (items) => {
        if (items.includes(-1)) throw new Error('model refused the input');
        return items.map((x) => x * 2);
      },
    });
    const outcomes = await Promise.allSettled([batcher.submit([1]), batcher.submit([-1]), batcher.submit([3])]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[0]).toMatchObject({ value: [2] });
    expect(outcomes[2]).toMatchObject({ value: [6] });
  });

  test("rejects every request of a failed batch with the batch's error, and keeps working", async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>({
      maxItems: 4, maxWaitMs: 5,
      run: async (items) => {
        if (fail) throw new Error('model refused the input');
        return items;
      },
    });
    const outcomes = await Promise.allSettled([batcher.submit([1]), batcher.submit([2])]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.submit([3])).toEqual([3]);
  });

  test('runs one batch at a time and batches what arrived meanwhile', async () => {
    const calls: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const batcher = new MicroBatcher<number, number>({
      maxItems: 2, maxWaitMs: 1,
      run: async (items) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.push(items);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return items;
      },
    });
    await Promise.all([1, 2, 3, 4, 5].map((x) => batcher.submit([x])));
    expect(maxInFlight).toBe(1);
    expect(calls.flat().sort()).toEqual([1, 2, 3, 4, 5]);
    expect(calls.every((c) => c.length <= 2)).toBe(true);
  });

  test('with maxRunning 2, a full batch starts while another runs, a part-full one waits until none runs, and never more than 2 run', async () => {
    const starts: { items: number[]; running: number }[] = [];
    const releases: (() => void)[] = [];
    let running = 0;
    const batcher = new MicroBatcher<number, number>({
      maxItems: 2, maxWaitMs: 1, maxRunning: 2,
      run: async (items) => {
        running++;
        starts.push({ items, running });
        await new Promise<void>((r) => releases.push(r));
        running--;
        return items;
      },
    });
    const tick = () => new Promise((r) => setTimeout(r, 10));
    const all = [batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5, 6]), batcher.submit([7])];
    await tick();
    // Two full batches run at once; the third full one and the part-full one wait.
    expect(starts).toEqual([{ items: [1, 2], running: 1 }, { items: [3, 4], running: 2 }]);
    releases.shift()!();
    await tick();
    expect(starts[2]).toEqual({ items: [5, 6], running: 2 });
    releases.shift()!();
    await tick();
    // [7] is not full: it waits while [5, 6] runs.
    expect(starts).toHaveLength(3);
    releases.shift()!();
    await tick();
    expect(starts[3]).toEqual({ items: [7], running: 1 });
    releases.shift()!();
    expect(await Promise.all(all)).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
  });
});
