import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { QUEUES, type StudyCompletionJob } from '@cxr/contracts';
import { PermanentError, TransientError } from './errors.ts';
import { addJob, jobOptionsFor, openQueue } from './queue-jobs.ts';
import { createWorkerConnection, type Redis } from './redis.ts';
import { createValidatedWorker } from './validated-worker.ts';

/**
 * createValidatedWorker against a real redis-server (started here: @cxr/devstack builds on this
 * package, so it cannot be used by its tests). Each test has its own queue prefix.
 */
let redis: ChildProcess;
let url: string;
const connections: Redis[] = [];
const closers: Array<() => Promise<unknown>> = [];
const logger = pino({ level: 'silent' });
let run = 0;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redis.once('error', () => undefined); // reported by the ping below
  const probe = createWorkerConnection(url);
  probe.on('error', () => undefined);
  try {
    await Promise.race([
      probe.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('redis-server did not start: apt-get install -y redis-server')), 10_000)),
    ]);
  } finally {
    probe.disconnect();
  }
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  for (const c of connections.splice(0)) c.disconnect();
});

afterAll(() => {
  redis?.kill('SIGKILL');
});

function connection(): Redis {
  const c = createWorkerConnection(url);
  connections.push(c);
  return c;
}

/** A study-completion queue on a fresh prefix, and a way to wait for a job's end. */
async function setup() {
  const prefix = `validated-${process.pid}-${++run}`;
  const queue = openQueue(QUEUES.studyCompletion, { connection: connection(), prefix });
  const events = new QueueEvents(QUEUES.studyCompletion.name, { connection: connection(), prefix });
  await events.waitUntilReady();
  closers.push(async () => {
    await queue.obliterate({ force: true });
    await Promise.all([queue.close(), events.close()]);
  });
  const start = (handle: (data: StudyCompletionJob) => Promise<string>, onInvalid?: (problems: string[]) => void) => {
    const worker = createValidatedWorker<StudyCompletionJob, string>({
      queue: QUEUES.studyCompletion, connection: connection(), prefix, logger, handle,
      ...(onInvalid ? { onInvalid: (_job: Job, problems: string[]) => onInvalid(problems) } : {}),
    });
    closers.push(() => worker.close());
    return worker;
  };
  const settled = async (job: Job): Promise<Job> => {
    await job.waitUntilFinished(events, 10_000).catch(() => undefined);
    return (await queue.getJob(job.id!))!;
  };
  return { queue, prefix, start, settled };
}

const JOB: StudyCompletionJob = { schemaVersion: 1, studyInstanceUid: '1.2.3', trigger: 'association-end' };

describe('createValidatedWorker', () => {
  test('hands a job that matches its schema to the handler and completes it with the result', async () => {
    const { queue, start, settled } = await setup();
    const seen: StudyCompletionJob[] = [];
    start(async (data) => {
      seen.push(data);
      return 'done';
    });
    const job = await settled(await addJob(queue, QUEUES.studyCompletion, JOB));
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('done');
    expect(seen).toEqual([JOB]);
  });

  test('fails a job that does not match the schema at once, naming the paths but not the values', async () => {
    const { queue, start, settled } = await setup();
    let handled = 0;
    const invalid: string[][] = [];
    start(async () => String(++handled), (problems) => invalid.push(problems));
    const raw = new Queue(QUEUES.studyCompletion.name, { connection: connection(), prefix: queue.opts.prefix! });
    closers.push(() => raw.close());
    const added = await raw.add('complete-study', { schemaVersion: 1, studyInstanceUid: 'not-a-uid-SECRET', trigger: 'association-end' }, { attempts: 3 });
    const job = await settled(added);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^invalid study-completion job: studyInstanceUid: /);
    expect(job.failedReason).not.toContain('SECRET');
    expect(handled).toBe(0);
    expect(invalid).toHaveLength(1);
  });

  test('does not retry a permanent error, and retries a transient one', async () => {
    const { queue, start, settled } = await setup();
    const calls = new Map<string, number>();
    start(async (data) => {
      const n = (calls.get(data.studyInstanceUid) ?? 0) + 1;
      calls.set(data.studyInstanceUid, n);
      if (data.studyInstanceUid === '1.1') throw new PermanentError('the study cannot be read');
      if (n < 2) throw new TransientError('storage hiccup');
      return 'recovered';
    });
    // Backoff shortened for the test; everything else as the definition says.
    const fast = { ...jobOptionsFor(QUEUES.studyCompletion, { ...JOB, studyInstanceUid: '1.1' }), backoff: { type: 'fixed', delay: 10 } };
    const permanent = await settled(await queue.add('complete-study', { ...JOB, studyInstanceUid: '1.1' }, fast));
    const transient = await settled(await queue.add('complete-study', { ...JOB, studyInstanceUid: '2.2' }, { ...fast, deduplication: { id: 'study.2.2' } }));
    expect(await permanent.getState()).toBe('failed');
    expect(permanent.failedReason).toBe('the study cannot be read');
    expect(calls.get('1.1')).toBe(1);
    expect(await transient.getState()).toBe('completed');
    expect(transient.returnvalue).toBe('recovered');
    expect(calls.get('2.2')).toBe(2);
  });
});

describe('addJob', () => {
  test('adds a study-completion job once per study while one is pending (deduplication by study)', async () => {
    const { queue } = await setup();
    await addJob(queue, QUEUES.studyCompletion, JOB, { delay: 60_000 });
    await addJob(queue, QUEUES.studyCompletion, { ...JOB, trigger: 'stable-age' }, { delay: 60_000 });
    expect(await queue.getJobCountByTypes('delayed')).toBe(1);
  });

  test('refuses a queue that is not the one the definition names', async () => {
    const wrong = openQueue(QUEUES.analysis, { connection: connection(), prefix: 'x' });
    closers.push(() => wrong.close());
    expect(() => addJob(wrong as never, QUEUES.studyCompletion, JOB)).toThrow(/is not the study-completion queue/);
  });
});
