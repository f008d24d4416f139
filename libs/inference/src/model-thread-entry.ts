// The model thread (see model-thread.ts): reads and checks a package's graphs, opens their
// sessions, and answers `vision` and `text` requests with nothing but session.run. onnxruntime-
// node's session.run is synchronous, so running it here keeps the service's event loop free for
// storage, queue and the rest of the analysis while the model computes.
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId, setThreadCpus } from './cpu-affinity.ts';
import { createLocalEngine, type LoadOptions } from './model-engine.ts';
import { readModelPackage } from './package-reader.ts';
import { fromWire, toWire, type ThreadReply, type ThreadRequest } from './model-thread.ts';

const port = parentPort!;
const { dir, options, cpus } = workerData as { dir: string; options: LoadOptions; cpus: number[] | null };
const post = (reply: ThreadReply): void => port.postMessage(reply);
const failure = (error: unknown) => ({ name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) });

try {
  // First: the onnxruntime threads the sessions start inherit this thread's CPUs.
  const threadId = currentThreadId();
  if (cpus) setThreadCpus(threadId, cpus);
  const parts = await readModelPackage(dir);
  const engine = await createLocalEngine(parts, options);
  parts.files.clear();
  const answer = async (request: Exclude<ThreadRequest, { type: 'close' }>): Promise<ThreadReply> => {
    const { id } = request;
    if (request.type === 'vision') {
      const { outputs, ms } = await engine.vision(fromWire(request.input));
      return { type: 'vision-result', id, ms, outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, toWire(t)])) };
    }
    const { texts, ms } = await engine.text(fromWire(request.from));
    return { type: 'text-result', id, texts, ms };
  };
  // One request at a time in arrival order, each answer posted before the next run starts
  // (onnxruntime-node defers each run to a setImmediate: runs started together would otherwise
  // both be queued before either answer is on its way).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: ThreadRequest) => {
    if (request.type === 'close') {
      queue = queue.then(() => engine.close()).finally(() => port.close());
      return;
    }
    queue = queue.then(() => answer(request).then(post, (error: unknown) => post({ type: 'failed', id: request.id, error: failure(error) })));
  });
  post({ type: 'ready', sha256: parts.sha256, executionProvider: engine.executionProvider, fallback: engine.fallback, threadId });
} catch (error) {
  post({ type: 'load-failed', error: failure(error) });
  port.close();
}
