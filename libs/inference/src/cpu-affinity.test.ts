import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { allowedCpus, currentThreadId, parseCpuList, processThreadIds, threadCpus } from './cpu-affinity.ts';
import { loadModelPackageInThread } from './model-thread.ts';
import { writeTinyPackage } from './tiny-package.test-support.ts';

describe('CPU lists', () => {
  test('reads single CPUs, lists and ranges, and refuses anything else', () => {
    expect(parseCpuList('1')).toEqual([1]);
    expect(parseCpuList('3,0-1')).toEqual([0, 1, 3]);
    for (const bad of ['', '1,', 'a', '2-1', '-1', '1 2']) expect(() => parseCpuList(bad)).toThrow(/CPU/);
  });

  test('the calling thread is one of the process threads and may run on the allowed CPUs', () => {
    const tid = currentThreadId();
    expect(processThreadIds()).toContain(tid);
    expect(threadCpus(tid)).toEqual(allowedCpus());
  });
});

// A tiny graph with hand-set weights (tiny-package.test-support.ts): no real model is used.
describe.skipIf(allowedCpus().length < 2)('a model thread on CPUs of its own', () => {
  test('runs on the CPUs it was given, whatever the caller runs on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cxr-affinity-'));
    const [first, second] = allowedCpus();
    try {
      await writeTinyPackage(dir);
      const model = await loadModelPackageInThread(dir, {}, { cpus: [second!] });
      try {
        expect(model.threadId).not.toBe(currentThreadId());
        expect(processThreadIds()).toContain(model.threadId);
        expect(threadCpus(model.threadId)).toEqual([second]);
        expect(threadCpus(currentThreadId())).toEqual(allowedCpus()); // the caller is left as it was
        expect(first).not.toBe(second);
      } finally {
        await model.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
