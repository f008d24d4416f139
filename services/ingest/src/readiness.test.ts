import { describe, expect, test } from 'vitest';
import { ReadinessProbe } from './readiness.ts';

const never = () => new Promise<boolean>(() => undefined);

describe('readiness probe', () => {
  test('is ready when every check answers true', async () => {
    const probe = new ReadinessProbe({ redis: async () => true, storage: async () => true }, 1000);
    expect(await probe.check()).toEqual({ redis: true, storage: true });
  });

  test('counts a check that fails or hangs as down, and answers anyway', async () => {
    const probe = new ReadinessProbe({ redis: never, storage: async () => Promise.reject(new Error('refused')) }, 20);
    expect(await probe.check()).toEqual({ redis: false, storage: false });
  });

  test('does not start a check again while the previous one still runs', async () => {
    let started = 0;
    const probe = new ReadinessProbe({ storage: () => ((started += 1), never()) }, 10);
    await probe.check();
    await probe.check();
    await probe.check();
    expect(started).toBe(1);
  });

  test('answers with a slow check once it has finished', async () => {
    let release: (ok: boolean) => void = () => undefined;
    let calls = 0;
    const probe = new ReadinessProbe({
      redis: () => {
        calls += 1;
        return calls === 1 ? new Promise<boolean>((resolve) => (release = resolve)) : Promise.resolve(true);
      },
    }, 10);
    expect(await probe.check()).toEqual({ redis: false });
    release(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await probe.check()).toEqual({ redis: true });
  });
});
