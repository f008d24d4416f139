// One bare lane of worker-bench.ts, in its own worker thread: a session of the package's vision
// graph (and GRU decoder, when it has one) with the worker's session options, run back to back on
// one preprocessed batch. Several lanes at once are several threads, as several worker processes
// are: onnxruntime-node's session.run is synchronous, so lanes in one thread would take turns.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { decodeReports, type GruDecoderSpec } from '@cxr/inference';

export interface LaneData {
  vision: string;
  input: string;
  data: Float32Array;
  dims: number[];
  decoder: (GruDecoderSpec & { conditioning: string; path: string }) | null;
  threads: number;
  seconds: number;
}
export interface LaneResult { calls: number; ms: number; cpuMs: number }

/** CPU ms this thread has used (Linux: /proc/thread-self/stat, utime + stime, 10 ms ticks). */
function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const lane = workerData as LaneData;
const port = parentPort!;
const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: lane.threads };
const vision = await ort.InferenceSession.create(lane.vision, options);
const decoder = lane.decoder ? await ort.InferenceSession.create(lane.decoder.path, options) : null;
const feeds = { [lane.input]: new ort.Tensor('float32', lane.data, lane.dims) };
const once = async (): Promise<void> => {
  const out = await vision.run(feeds);
  if (decoder && lane.decoder) await decodeReports(decoder, lane.decoder, out[lane.decoder.conditioning] as ort.Tensor, lane.dims[0]!);
};
for (let i = 0; i < 3; i++) await once();
port.postMessage('ready');
await new Promise((resolve) => port.once('message', resolve)); // all lanes start together
const cpu0 = threadCpuMs();
const t0 = performance.now();
let calls = 0;
while (performance.now() - t0 < lane.seconds * 1000) {
  await once();
  calls++;
}
const result: LaneResult = { calls, ms: performance.now() - t0, cpuMs: threadCpuMs() - cpu0 };
await Promise.all([vision.release(), decoder?.release()]);
port.postMessage(result);
