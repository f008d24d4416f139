import { Worker } from 'node:worker_threads';
import { allowedCpus, currentThreadId, processThreadIds, setThreadCpus, threadCpus } from '@cxr/inference';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../config.ts';
import { modelCpusOf } from './model-cpus.ts';

describe('WORKER_MODEL_CPUS', () => {
  test('refuses CPUs the process may not use, and a list that leaves none for the rest', () => {
    const allowed = allowedCpus();
    expect(() => modelCpusOf({ kind: 'list', cpus: [Math.max(...allowed) + 1] })).toThrow(/may not use/);
    expect(() => modelCpusOf({ kind: 'list', cpus: allowed })).toThrow(/leaves no CPU/);
    expect(() => modelCpusOf({ kind: 'last', count: allowed.length })).toThrow(/leaves no CPU/);
  });

  test.skipIf(allowedCpus().length < 2)('moves every thread but the model threads onto the other CPUs', async () => {
    const allowed = allowedCpus();
    const cpus = modelCpusOf({ kind: 'last', count: 1 });
    expect(cpus.model).toEqual([allowed[allowed.length - 1]]);
    expect(cpus.rest).toEqual(allowed.slice(0, -1));
    // A thread that stands in for the model thread: it reports its id and waits.
    const stand = new Worker(`const { parentPort } = require('node:worker_threads'); const { readlinkSync } = require('node:fs');
      parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop())); setInterval(() => {}, 1000);`, { eval: true });
    const main = currentThreadId();
    try {
      const modelTid = await new Promise<number>((resolve) => stand.once('message', resolve));
      setThreadCpus(modelTid, cpus.model);
      cpus.keepOthersOff([modelTid]);
      expect(threadCpus(modelTid)).toEqual(cpus.model);
      for (const tid of processThreadIds()) if (tid !== modelTid) expect(threadCpus(tid)).toEqual(cpus.rest);
    } finally {
      await stand.terminate();
      for (const tid of processThreadIds()) setThreadCpus(tid, allowed); // leave the test process as it was
      expect(threadCpus(main)).toEqual(allowed);
    }
  });
});

describe('WORKER_MODEL_CPUS in the configuration', () => {
  test('is a CPU list for the model thread; unset, no affinity is set', () => {
    expect(loadConfig({ WORKER_MODEL_CPUS: '1,3-4' }).modelCpus).toEqual({ kind: 'list', cpus: [1, 3, 4] });
    expect(loadConfig({ WORKER_MODEL_CPUS: 'last' }).modelCpus).toEqual({ kind: 'last', count: 1 });
    expect(loadConfig({ WORKER_MODEL_CPUS: 'last:2' }).modelCpus).toEqual({ kind: 'last', count: 2 });
    expect(loadConfig({}).modelCpus).toBeUndefined();
  });
  test('refuses what is not a CPU list, and CPUs for a model that runs in the main thread', () => {
    for (const bad of ['all', 'last:0', 'last:', '1,']) expect(() => loadConfig({ WORKER_MODEL_CPUS: bad })).toThrow(/WORKER_MODEL_CPUS/);
    expect(() => loadConfig({ WORKER_MODEL_CPUS: '1', WORKER_MODEL_THREAD: 'false' })).toThrow(/WORKER_MODEL_THREAD/);
  });
});
