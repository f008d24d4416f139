/**
 * Inference worker throughput against the bare model.
 *
 * Pushes N single-image analysis jobs through the real queue (redis-server + s3rver from
 * @cxr/devstack, worker processes started exactly as `npm start` does) for 1 and 2 worker
 * processes, with dynamic batching (the default config) and without it, and measures steady-state
 * images/s and per-stage latency (from each result JSON's `timingsMs` and the BullMQ job times).
 * In the same run it measures the ceiling: onnxruntime `InferenceSession.run` of the same vision
 * graph (and the greedy text decode) on already preprocessed tensors in a tight loop, plus the
 * in-process `ModelPackage.analyse` (preprocessing and heatmap cropping included) on decoded images.
 *
 * `--model <dir>` benchmarks another package (format v1 or v2, e.g. one `npm run model:import`
 * wrote): the workers serve it (WORKER_MODEL_DIR) and the bare loop runs the same graph on the same
 * input shape ([N, channels, size, size], preprocessed as its manifest says). A package without a
 * GRU decoder (v2 templated text, written by the worker from the findings) has no decode graph:
 * its bare ceiling is the vision graph alone, so the worker's CAMs and text count as overhead.
 *
 * The service's per-image time divided by the bare per-image time is the overhead ratio; the
 * issue's goal is ≤ 1.25 at steady state. The floor (storage and queue costs measured alone, plus
 * the bare model, over the machine's cores) says how low that ratio could go on this machine.
 *
 *   npm run bench:worker -- --jobs 200 --out bench.json
 *   npm run bench:worker -- --model /tmp/chexnet --configs 0,2 --jobs 100 --out bench.json
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Queue, Worker as QueueWorker } from 'bullmq';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import {
  ANALYSIS_INPUT_CONTENT_TYPE, ANALYSIS_INPUT_RESIZE_KERNEL, QUEUE_NAMES, QUEUES, analysisInputSize, analysisResultSchema, encodeAnalysisInput, objectKeys, type AnalysisRequest,
} from '@cxr/contracts';
import {
  DEFAULT_BUCKETS, benchRecord, freePort, startRedisServer, startS3Server, startServiceProcess, waitFor,
  type RedisServerHandle, type S3ServerHandle, type ServiceProcess,
} from '@cxr/devstack';
import { allowedCpus, decodeReports, gruDecoderOf, loadModelPackage, processThreadIds, setThreadCpus, manifestPreprocessing, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore, createRequestConnection } from '@cxr/platform';
import { loadConfig } from '../src/config.ts';
import type { LaneData, LaneResult } from './bare-lane.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200' },
    out: { type: 'string' },
    /** Distinct input images the jobs cycle through. */
    images: { type: 'string', default: '64' },
    /** Width of the presentation images; height is 1.2× (1024 → 1024×1229, what ingest makes). */
    size: { type: 'string', default: '1024' },
    /** Seconds each bare measurement runs. */
    'bare-seconds': { type: 'string', default: '4' },
    /** Which configurations to run, by index in the table below (e.g. `0` or `0,2`); all by default. */
    configs: { type: 'string' },
    /** The model package directory the workers serve and the bare loop runs (v1 or v2); the reference model by default. */
    model: { type: 'string' },
  },
});
const MODEL_DIR = args.model ?? referenceModelDir;
const JOBS = Number(args.jobs);
const IMAGE_COUNT = Number(args.images);
const SIZE = Number(args.size);
const BARE_SECONDS = Number(args['bare-seconds']);
/** The worker's defaults (its own config with no environment): the ceiling runs the model as the service does. */
const WORKER_DEFAULTS = loadConfig({});
/** WORKER_INTRA_OP_THREADS. */
const BARE_THREADS = WORKER_DEFAULTS.intraOpThreads;
/** WORKER_CONCURRENCY: jobs in flight per process (the floor runs with as many). */
const WORKER_DEFAULT_CONCURRENCY = WORKER_DEFAULTS.concurrency;
/** Most images in one model call with the defaults, for single-image jobs. */
const DEFAULT_BATCH = Math.min(WORKER_DEFAULTS.batch.maxImages, WORKER_DEFAULTS.concurrency);
if (!(JOBS >= 10) || !(IMAGE_COUNT >= 1) || !(SIZE >= 64)) throw new Error('--jobs must be ≥ 10, --images ≥ 1, --size ≥ 64');

interface Configuration {
  name: string;
  processes: number;
  env: Record<string, string>;
  /** What the jobs name: the small raw analysis input (as ingest queues them now) or only the presentation PNG (older jobs). */
  input: 'analysis-input' | 'presentation-png';
  /** Most images per model call in this configuration (for the matching bare ceiling). */
  batch: number;
  /**
   * The model thread on a CPU of its own (WORKER_MODEL_CPUS: the last one), and this process (s3rver's
   * thread included) and redis-server kept on the others while it runs, as storage and Redis run on
   * other machines in production.
   */
  ownCpu?: boolean;
}
// With the default WORKER_CONCURRENCY (32) and WORKER_BATCH_MAX_IMAGES (8), a batch of these single-image
// jobs holds up to DEFAULT_BATCH (8) images: the bare ceiling of a batching configuration is taken there.
const ALL_CONFIGURATIONS: Configuration[] = [
  { name: '1 process, batching (default)', processes: 1, env: {}, input: 'analysis-input', batch: DEFAULT_BATCH },
  { name: '1 process, no batching', processes: 1, env: { WORKER_BATCH_MAX_IMAGES: '1' }, input: 'analysis-input', batch: 1 },
  { name: '2 processes, batching (default)', processes: 2, env: {}, input: 'analysis-input', batch: DEFAULT_BATCH },
  { name: '2 processes, no batching', processes: 2, env: { WORKER_BATCH_MAX_IMAGES: '1' }, input: 'analysis-input', batch: 1 },
  { name: '1 process, batching, old jobs (presentation PNG only)', processes: 1, env: {}, input: 'presentation-png', batch: DEFAULT_BATCH },
  { name: '1 process, batching, model on a CPU of its own', processes: 1, env: { WORKER_MODEL_CPUS: 'last' }, input: 'analysis-input', batch: DEFAULT_BATCH, ownCpu: true },
];
const CONFIGURATIONS = args.configs ? args.configs.split(',').map((i) => ALL_CONFIGURATIONS[Number(i)]!).filter(Boolean) : ALL_CONFIGURATIONS;
if (CONFIGURATIONS.length === 0) throw new Error(`--configs: pick from 0..${ALL_CONFIGURATIONS.length - 1}`);

interface Stats { mean: number; p50: number; p95: number }
function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { mean: s.reduce((a, b) => a + b, 0) / (s.length || 1), p50: at(0.5), p95: at(0.95) };
}
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/** Pseudonymous keys are lower-case alphanumerics of 16–64 characters. */
const key = (kind: string, n: number) => `${kind}${String(n).padStart(24, '0')}`;

async function prepareInputs(objects: ObjectStore): Promise<{ keys: string[]; inputKeys: string[]; width: number; height: number; images: PresentationImage[]; small: PresentationImage[] }> {
  const keys: string[] = [];
  const inputKeys: string[] = [];
  const images: PresentationImage[] = [];
  const small: PresentationImage[] = [];
  let width = 0;
  let height = 0;
  for (let i = 0; i < IMAGE_COUNT; i++) {
    const phantom = generatePhantom({ seed: 9000 + i, size: SIZE, aspect: 1.2 });
    const data = toUint16(phantom);
    // As ingest stores them: 16-bit grey PNG, zlib level 6.
    const png = await sharp(data, { raw: { width: phantom.width, height: phantom.height, channels: 1 } }).toColourspace('grey16').png({ compressionLevel: 6 }).toBuffer();
    const imageKey = objectKeys.presentationImage(key('inputstudy', i), key('inputinst', i));
    await objects.put(DEFAULT_BUCKETS.derived, imageKey, png, 'image/png');
    keys.push(imageKey);
    images.push({ width: phantom.width, height: phantom.height, data });
    // And the small raw analysis input, as ingest stores it beside the presentation PNG.
    const inputSize = analysisInputSize(phantom.width, phantom.height);
    const resized = await sharp(data, { raw: { width: phantom.width, height: phantom.height, channels: 1 } })
      .resize(inputSize.width, inputSize.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const smallImage = { ...inputSize, data: new Uint16Array(resized.buffer, resized.byteOffset, resized.length / 2) };
    const inputKey = objectKeys.analysisInput(key('inputstudy', i), key('inputinst', i));
    await objects.put(DEFAULT_BUCKETS.derived, inputKey, encodeAnalysisInput(smallImage), ANALYSIS_INPUT_CONTENT_TYPE);
    inputKeys.push(inputKey);
    small.push(smallImage);
    width = phantom.width;
    height = phantom.height;
  }
  return { keys, inputKeys, width, height, images, small };
}

function analysisRequest(config: number, n: number, imageKey: string, analysisInputKey: string | undefined, width: number, height: number): AnalysisRequest {
  // Fresh keys per configuration: a later run must not find its output objects (and s3rver's
  // folders for them) already there, which makes writes cheaper than they are.
  const studyKey = key(`bench${config}study`, n);
  return {
    schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
    images: [{ instanceKey: key('benchinst', n), imageKey, ...(analysisInputKey ? { analysisInputKey } : {}), width, height }], requestedAt: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Bare ceiling
// ---------------------------------------------------------------------------------------------

interface BareRow {
  batch: number; visionMsPerImage: number; decodeMsPerImage: number; totalMsPerImage: number; imagesPerSecond: number; analyseMsPerImage: number;
  /** CPU cores the vision+decode loop kept busy on average (2 = both cores of this machine). */
  coresBusy: number;
  /** CPU ms per image of `analyse()` (preprocessing with sharp, the model, heatmap crops, text). */
  analyseCpuMsPerImage: number;
}

/** Runs `fn` (which handles `perCall` images) for BARE_SECONDS after a warm-up; ms per image. */
async function timeLoop(perCall: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < BARE_SECONDS * 1000) {
    await fn();
    calls++;
  }
  return (performance.now() - start) / (calls * perCall);
}

async function measureBare(model: ModelPackage, images: PresentationImage[], batches: number[]): Promise<BareRow[]> {
  const { manifest } = model;
  const gru = gruDecoderOf(manifest);
  // The same graphs and session options as the worker's defaults (CPU, WORKER_INTRA_OP_THREADS=1),
  // opened directly: no package code between the loop and session.run.
  const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: BARE_THREADS };
  const vision = await ort.InferenceSession.create(join(MODEL_DIR, manifest.input.file), sessionOptions);
  // No GRU decoder (v2 templated text): nothing to decode in a graph, the bare ceiling is the vision graph.
  const decoder = gru ? await ort.InferenceSession.create(join(MODEL_DIR, gru.file), sessionOptions) : undefined;
  const decode = async (out: ort.InferenceSession.OnnxValueMapType, batch: number): Promise<void> => {
    if (gru && decoder) await decodeReports(decoder, gru, out[gru.conditioning] as ort.Tensor, batch);
  };
  // Preprocessed as the manifest says (v1 letterbox + zscore; v2 its resize, normalisation and channels).
  const { size, channels, into } = manifestPreprocessing(manifest);
  const perImage = channels * size * size;
  const tensors = await Promise.all(images.map(async (img) => {
    const out = new Float32Array(perImage);
    await into(img, out);
    return out;
  }));
  const rows: BareRow[] = [];
  try {
    for (const batch of batches) {
      const data = new Float32Array(batch * perImage);
      for (let n = 0; n < batch; n++) data.set(tensors[n % tensors.length]!, n * perImage);
      const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, [batch, channels, size, size]) };
      const visionMs = await timeLoop(batch, () => vision.run(feeds));
      const visionOut = await vision.run(feeds);
      const decodeMs = gru ? await timeLoop(batch, () => decode(visionOut, batch)) : 0;
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      const totalMs = await timeLoop(batch, async () => {
        await decode(await vision.run(feeds), batch);
      });
      const cpu = process.cpuUsage(cpu0);
      const coresBusy = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
      const batchImages = Array.from({ length: batch }, (_, n) => images[n % images.length]!);
      const analyseCpu0 = process.cpuUsage();
      const analyseWall0 = performance.now();
      const analyseMs = await timeLoop(batch, () => model.analyse(batchImages));
      const analyseCpu = process.cpuUsage(analyseCpu0);
      const analyseCpuMs = (analyseCpu.user + analyseCpu.system) / 1000 / (performance.now() - analyseWall0) * analyseMs;
      rows.push({ batch, visionMsPerImage: visionMs, decodeMsPerImage: decodeMs, totalMsPerImage: totalMs, imagesPerSecond: 1000 / totalMs, analyseMsPerImage: analyseMs, analyseCpuMsPerImage: analyseCpuMs, coresBusy });
    }
  } finally {
    await Promise.all([vision.release(), decoder?.release()]);
  }
  return rows;
}

/** The bare ceiling for `parallel` worker processes: images/s summed over the lanes, and CPU ms per image. */
interface BareLanes { lanes: number; batch: number; imagesPerSecond: number; cpuMsPerImage: number }

/**
 * As many bare lanes as worker processes (bare-lane.ts): each its own thread with its own session
 * of the same graph (and GRU decoder) with the worker's intra-op threads, all started together,
 * each running session.run back to back on the same preprocessed batch for BARE_SECONDS.
 */
async function measureBareLanes(model: ModelPackage, images: PresentationImage[], batch: number, parallel: number): Promise<BareLanes> {
  const { manifest } = model;
  const gru = gruDecoderOf(manifest);
  const { size, channels, into } = manifestPreprocessing(manifest);
  const perImage = channels * size * size;
  const data = new Float32Array(batch * perImage);
  for (let n = 0; n < batch; n++) await into(images[n % images.length]!, data.subarray(n * perImage, (n + 1) * perImage));
  const lane: LaneData = {
    vision: join(MODEL_DIR, manifest.input.file), input: manifest.input.name, data, dims: [batch, channels, size, size],
    decoder: gru ? { ...gru, path: join(MODEL_DIR, gru.file) } : null, threads: BARE_THREADS, seconds: BARE_SECONDS,
  };
  // Node 20 does not pass tsx's loader on to worker threads: each registers it before the entry.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./bare-lane.ts', import.meta.url).href)}); });`;
  const workers = Array.from({ length: parallel }, () => new Worker(bootstrap, { eval: true, workerData: lane }));
  try {
    const next = (w: Worker) => new Promise<unknown>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await Promise.all(workers.map(next)); // each lane warmed up
    const results = workers.map(next) as Promise<LaneResult>[];
    for (const w of workers) w.postMessage('go');
    const done = await Promise.all(results);
    const imagesPerSecond = done.reduce((sum, r) => sum + (r.calls * batch * 1000) / r.ms, 0);
    const images = done.reduce((sum, r) => sum + r.calls * batch, 0);
    return { lanes: parallel, batch, imagesPerSecond, cpuMsPerImage: done.reduce((sum, r) => sum + r.cpuMs, 0) / images };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------
// Floor: what storage and the queue cost on their own, with no worker at all
// ---------------------------------------------------------------------------------------------

/** CPU ms used so far by one thread of this process (Linux: /proc/self/task/<tid>/stat, utime + stime). */
function threadCpuMs(tid: number): number {
  const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ = 100)
}
const processCpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

interface FloorRow {
  /** Per image, CPU ms: s3rver (its own thread and the fs thread pool) answering one analysis input GET and one result PUT. */
  storageServerMs: number;
  /** The minio client's side of the same two requests (this process's main thread). */
  storageClientMs: number;
  /** A BullMQ job taken and completed by a worker that does nothing, plus the report event it emits: client side (this main thread) and redis-server. */
  queueClientMs: number;
  queueRedisMs: number;
  /** Bare model CPU per image (vision + decode at the headline's batch size). */
  modelMs: number;
  /** What the model package adds around it in-process (`analyse()` CPU minus bare): preprocessing from the stored input, heatmap crops. */
  packageMs: number;
  /** Storage, queue and bare model spread over every core: even a worker with no code of its own, that needed no preprocessing, could go no faster. */
  floorBareModelMsPerImage: number;
  /** The same with `analyse()` in place of the bare model: the fastest a worker that runs the package on the stored inputs could go here. */
  floorMsPerImage: number;
  cores: number;
}

/**
 * The work no worker can skip, measured alone with the worker's concurrency: for each image, GET
 * its analysis input and PUT a result of the real result's size (fresh keys, as the worker writes
 * them); and a BullMQ job through the same queue (taken, completed, one report-events job added) by
 * a worker whose processor does nothing. With the bare model's CPU, their sum over the machine's
 * cores is the fastest any worker could go here, whatever its own code costs.
 */
async function measureFloor(
  ctx: { redis: RedisServerHandle; objects: ObjectStore; inputKeys: string[]; resultBytes: number },
  bareRow: BareRow, concurrency: number,
): Promise<FloorRow> {
  const count = Math.min(JOBS, 400);
  const result = Buffer.from(JSON.stringify({ padding: 'x'.repeat(Math.max(0, ctx.resultBytes - 16)) }));
  let next = 0;
  const cpu0 = processCpuMs();
  const main0 = threadCpuMs(process.pid);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const n = next++;
      await ctx.objects.get(DEFAULT_BUCKETS.derived, ctx.inputKeys[n % ctx.inputKeys.length]!);
      await ctx.objects.put(DEFAULT_BUCKETS.derived, objectKeys.analysisResult(key('floorstudy', n), 1), result, 'application/json');
    }
  }));
  const storageClientMs = (threadCpuMs(process.pid) - main0) / count;
  const storageServerMs = (processCpuMs() - cpu0) / count - storageClientMs;

  const prefix = `floor_${process.pid}`;
  const connection = createRequestConnection(ctx.redis.url);
  const queue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, { connection, prefix });
  const events = new Queue(QUEUE_NAMES.reportEvents, { connection, prefix });
  const requests = Array.from({ length: count }, (_, n) => analysisRequest(9, n, ctx.inputKeys[0]!, ctx.inputKeys[0]!, 1, 1));
  await queue.addBulk(requests.map((data) => ({ name: 'analyse', data, opts: { jobId: data.analysisId, removeOnComplete: false } })));
  let done = 0;
  const redis0 = await redisCpuSeconds(connection);
  const queueMain0 = threadCpuMs(process.pid);
  const worker = new QueueWorker<AnalysisRequest>(QUEUE_NAMES.analysis, async (job) => {
    await events.add('analysis-completed', { studyKey: job.data.studyKey }, { jobId: `${job.data.analysisId}.completed`, ...QUEUES.reportEvents.jobOptions });
    done++;
    return { resultKey: 'x' };
  }, { connection: { host: new URL(ctx.redis.url).hostname, port: Number(new URL(ctx.redis.url).port), maxRetriesPerRequest: null }, prefix, concurrency });
  try {
    await waitFor(`${count} no-op jobs`, async () => (done >= count ? true : undefined), 5 * 60_000, 20);
    const queueClientMs = (threadCpuMs(process.pid) - queueMain0) / count;
    const queueRedisMs = ((await redisCpuSeconds(connection)) - redis0) * 1000 / count;
    const modelMs = bareRow.totalMsPerImage * bareRow.coresBusy;
    const packageMs = Math.max(0, bareRow.analyseCpuMsPerImage - modelMs);
    const cores = availableParallelism();
    const floorBareModelMsPerImage = (storageServerMs + storageClientMs + queueClientMs + queueRedisMs + modelMs) / cores;
    const floorMsPerImage = floorBareModelMsPerImage + packageMs / cores;
    return { storageServerMs, storageClientMs, queueClientMs, queueRedisMs, modelMs, packageMs, floorBareModelMsPerImage, floorMsPerImage, cores };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await events.obliterate({ force: true }).catch(() => undefined);
    await Promise.all([queue.close(), events.close()]);
    connection.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Through the service
// ---------------------------------------------------------------------------------------------

interface ServiceRow {
  name: string;
  processes: number;
  batchMaxImages: number;
  jobs: number;
  failed: number;
  imagesPerSecond: number;
  msPerImage: number;
  meanBatchSize: number;
  /**
   * Share of images the model refused (scope: pixel checks or out-of-distribution). A refused image
   * with a high out-of-distribution score costs a second run, of its inverted image (the polarity
   * check), that the bare loop does not do.
   */
  outOfScopeShare: number;
  /** Per-job stage times from the result JSON (ms). `model` = the batched model call as the job saw it. */
  stagesMs: Record<string, Stats>;
  /** BullMQ: processedOn → finishedOn (the whole job in the worker) and timestamp → processedOn. */
  jobMs: Stats;
  queueWaitMs: Stats;
  /**
   * CPU time per image over the whole run (all on the same cores): the worker processes, this
   * process (almost all of it s3rver answering the workers' GETs and PUTs) and redis-server.
   */
  cpuMsPerImage: { workers: number; s3rverAndBench: number; redis: number };
  /** Mean size of the result JSON the worker PUT per job. */
  resultBytes: number;
}

async function scrapeCpuSeconds(urls: string[]): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    sum += Number(/^cxr_process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
  }
  return sum;
}

async function redisCpuSeconds(connection: ReturnType<typeof createRequestConnection>): Promise<number> {
  const info = await connection.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys') + field('used_cpu_user_children') + field('used_cpu_sys_children');
}

async function scrapeBatchSize(urls: string[]): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    sum += Number(/^cxr_worker_batch_size_sum(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
    count += Number(/^cxr_worker_batch_size_count(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
  }
  return count ? sum / count : NaN;
}

/** Puts every thread of this process (s3rver's included) and of redis-server on `cpus`. */
function keepHarnessOn(cpus: number[], redis: RedisServerHandle): void {
  for (const tid of processThreadIds()) setThreadCpus(tid, cpus);
  execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(redis.process.pid)], { stdio: 'ignore' });
}

async function runConfiguration(
  config: Configuration, index: number,
  ctx: { dir: string; redis: RedisServerHandle; s3: S3ServerHandle; objects: ObjectStore; inputs: Awaited<ReturnType<typeof prepareInputs>>; allowWithoutOod: boolean },
): Promise<ServiceRow> {
  const prefix = `bench${index}_${process.pid}`;
  const env: Record<string, string> = {
    REDIS_URL: ctx.redis.url,
    S3_ENDPOINT: ctx.s3.endpoint, S3_ACCESS_KEY: ctx.s3.accessKey, S3_SECRET_KEY: ctx.s3.secretKey, S3_REGION: 'us-east-1',
    BUCKET_ORIGINALS: DEFAULT_BUCKETS.originals, BUCKET_DERIVED: DEFAULT_BUCKETS.derived, BUCKET_REPORTS: DEFAULT_BUCKETS.reports,
    QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', WORKER_HTTP_HOST: '127.0.0.1',
    ...(args.model ? { WORKER_MODEL_DIR: MODEL_DIR } : {}),
    // A package with no OOD detector (an import before `model:fit-ood`) is only served with this set.
    ...(ctx.allowWithoutOod ? { WORKER_ALLOW_MODELS_WITHOUT_OOD: 'true' } : {}),
    ...config.env,
  };
  const workers: ServiceProcess[] = [];
  const urls: string[] = [];
  const connection = createRequestConnection(ctx.redis.url);
  const queue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, { connection, prefix });
  try {
    for (let p = 0; p < config.processes; p++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      workers.push(await startServiceProcess({
        service: 'inference-worker', name: `bench-worker-${index}-${p}`, env: { ...env, WORKER_HTTP_PORT: String(port) },
        readyUrl: `${url}/readyz`, logDir: join(ctx.dir, 'logs'), timeoutMs: 120_000,
      }));
      urls.push(url);
    }

    // After the workers have started: a process started from a pinned thread inherits its CPUs.
    if (config.ownCpu) keepHarnessOn(allowedCpus().slice(0, -1), ctx.redis);
    const cpuBefore = { workers: await scrapeCpuSeconds(urls), bench: process.cpuUsage(), redis: await redisCpuSeconds(connection) };
    const { keys, inputKeys, width, height } = ctx.inputs;
    const requests = Array.from({ length: JOBS }, (_, n) =>
      analysisRequest(index, n, keys[n % keys.length]!, config.input === 'analysis-input' ? inputKeys[n % keys.length]! : undefined, width, height));
    await queue.addBulk(requests.map((data) => ({ name: 'analyse', data, opts: { jobId: data.analysisId, removeOnComplete: false } })));
    // Polled, not followed with QueueEvents: reading every job's events would cost this process CPU
    // on the same cores as the workers. Completion times are the jobs' own finishedOn, read afterwards.
    let failed = 0;
    await waitFor(`${JOBS} analysis jobs to finish`, async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      failed = counts.failed ?? 0;
      return (counts.completed ?? 0) + failed >= JOBS ? true : undefined;
    }, 30 * 60_000, 200);
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpuMsPerImage = {
      workers: ((await scrapeCpuSeconds(urls)) - cpuBefore.workers) * 1000 / JOBS,
      s3rverAndBench: (benchCpu.user + benchCpu.system) / 1000 / JOBS,
      redis: ((await redisCpuSeconds(connection)) - cpuBefore.redis) * 1000 / JOBS,
    };

    // Steady state: the middle 80% of completions (leaves out the start, when batches are still
    // filling, and the tail, when fewer jobs than workers are left).
    const jobs = await queue.getJobs(['completed'], 0, -1);
    const finishedAt = jobs.map((j) => j.finishedOn!).sort((a, b) => a - b);
    const lo = Math.floor(finishedAt.length * 0.1);
    const hi = Math.ceil(finishedAt.length * 0.9) - 1;
    const imagesPerSecond = ((hi - lo) * 1000) / (finishedAt[hi]! - finishedAt[lo]!);

    const perStage = new Map<string, number[]>();
    const results = await Promise.all(jobs.map(async (job) => {
      const { resultKey } = job.returnvalue as { resultKey: string };
      return analysisResultSchema.parse(await ctx.objects.getJson(DEFAULT_BUCKETS.derived, resultKey));
    }));
    for (const result of results) for (const [stage, ms] of Object.entries(result.timingsMs)) perStage.set(stage, [...(perStage.get(stage) ?? []), ms]);
    const meanBatchSize = await scrapeBatchSize(urls);
    return {
      name: config.name, processes: config.processes, batchMaxImages: config.batch, jobs: JOBS, failed,
      imagesPerSecond, msPerImage: 1000 / imagesPerSecond, meanBatchSize,
      stagesMs: Object.fromEntries([...perStage].map(([stage, values]) => [stage, stats(values)])),
      jobMs: stats(jobs.map((j) => j.finishedOn! - j.processedOn!)),
      queueWaitMs: stats(jobs.map((j) => j.processedOn! - j.timestamp)),
      cpuMsPerImage,
      resultBytes: results.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) / (results.length || 1),
      outOfScopeShare: results.flatMap((r) => r.images).filter((i) => i.scope?.inScope === false).length / Math.max(1, results.flatMap((r) => r.images).length),
    };
  } finally {
    if (config.ownCpu) keepHarnessOn(allowedCpus(), ctx.redis);
    await Promise.all(workers.map((w) => w.stop(30_000)));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------

function printTables(bare: BareRow[], rows: ServiceRow[], bareFor: (batch: number) => BareRow): void {
  console.log('\nBare model (onnxruntime session.run on preprocessed model-size tensors, this process):');
  console.table(bare.map((b) => ({
    batch: b.batch, 'vision ms/img': round(b.visionMsPerImage, 2), 'decode ms/img': round(b.decodeMsPerImage, 2),
    'vision+decode ms/img': round(b.totalMsPerImage, 2), 'images/s': round(b.imagesPerSecond), 'analyse() ms/img': round(b.analyseMsPerImage, 2),
    'cores busy': round(b.coresBusy, 2),
  })));
  console.log(`\nThrough the queue (${JOBS} single-image jobs, ${ctxDescription}):`);
  console.table(rows.map((r) => ({
    configuration: r.name, 'images/s': round(r.imagesPerSecond), 'ms/img': round(r.msPerImage, 1),
    'bare ms/img': round(bareFor(r.batchMaxImages).totalMsPerImage, 2), overhead: `${round(r.msPerImage / bareFor(r.batchMaxImages).totalMsPerImage, 1)}×`,
    'mean batch': round(r.meanBatchSize, 2), 'out of scope': `${round(r.outOfScopeShare * 100, 1)}%`, failed: r.failed,
    'CPU ms/img: workers': round(r.cpuMsPerImage.workers), 's3rver+bench': round(r.cpuMsPerImage.s3rverAndBench), redis: round(r.cpuMsPerImage.redis),
  })));
  console.log('\nPer-job stage latency, mean / p50 / p95 ms (result timingsMs; job = BullMQ processedOn→finishedOn):');
  const stages = ['load', 'fetch', 'decode', 'model', 'preprocess', 'vision', 'textDecode', 'encode', 'store'];
  console.table(rows.map((r) => Object.fromEntries([
    ['configuration', r.name],
    ...stages.map((s) => [s, r.stagesMs[s] ? `${round(r.stagesMs[s].mean)} / ${round(r.stagesMs[s].p50)} / ${round(r.stagesMs[s].p95)}` : '-']),
    ['job', `${round(r.jobMs.mean)} / ${round(r.jobMs.p50)} / ${round(r.jobMs.p95)}`],
  ])));
}

function printFloor(floor: FloorRow, bare: BareRow): void {
  console.log(`\nFloor (CPU ms per image, each part measured alone in this run; ${floor.cores} cores):`);
  console.table([{
    'model (bare)': round(floor.modelMs, 2), 'package around it': round(floor.packageMs, 2),
    's3rver: GET input + PUT result': round(floor.storageServerMs, 2), 'storage client': round(floor.storageClientMs, 2),
    'queue client (no-op job)': round(floor.queueClientMs, 2), 'redis-server': round(floor.queueRedisMs, 2),
  }]);
  const ratio = (ms: number) => `${round(ms, 2)} ms/img = ${round(ms / bare.totalMsPerImage, 2)}× bare`;
  console.log(`fastest possible here: ${ratio(floor.floorMsPerImage)} (running the package on the stored inputs); ${ratio(floor.floorBareModelMsPerImage)} even with no preprocessing or code of its own`);
}
let ctxDescription = '';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-worker-bench-'));
  let redis: RedisServerHandle | undefined;
  let s3: S3ServerHandle | undefined;
  try {
    redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis'), appendonly: false });
    // On its own thread, as the object store is its own server in production (and so the floor
    // below can tell its CPU from the client's).
    s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: [DEFAULT_BUCKETS.derived], reset: true, thread: true });
    const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
    const inputs = await prepareInputs(objects);
    ctxDescription = `${inputs.width}×${inputs.height} 16-bit PNG inputs, s3rver + redis-server`;
    console.log(`inputs: ${IMAGE_COUNT} presentation PNGs ${inputs.width}×${inputs.height}; jobs: ${JOBS}`);

    const model = await loadModelPackage(MODEL_DIR, { executionProviders: ['cpu'], intraOpNumThreads: BARE_THREADS });
    const modelInfo = { dir: MODEL_DIR, id: model.manifest.id, version: model.manifest.version, formatVersion: 'formatVersion' in model.manifest ? model.manifest.formatVersion : 1, oodDetector: model.hasOodDetector };
    const allowWithoutOod = !model.hasOodDetector;
    console.log(`model: ${modelInfo.id}@${modelInfo.version} (format v${modelInfo.formatVersion}${allowWithoutOod ? ', no OOD detector: workers run with WORKER_ALLOW_MODELS_WITHOUT_OOD=true' : ''})`);
    const batches = [...new Set(CONFIGURATIONS.map((c) => c.batch))].sort((a, b) => a - b);
    console.log(`bare ceiling at batch ${batches.join(', ')} (${BARE_SECONDS} s each)…`);
    // analyse() on the small analysis inputs: what the worker hands the model now.
    const bare = await measureBare(model, inputs.small, batches);
    const bareFor = (batch: number) => bare.find((b) => b.batch === batch)!;

    // Each configuration between two bare measurements with as many lanes as it has processes (the
    // machine's speed drifts on a shared host: the configuration is compared with their mean).
    const rows: ServiceRow[] = [];
    const bareAround: { before: BareLanes; after: BareLanes }[] = [];
    for (const [i, config] of CONFIGURATIONS.entries()) {
      console.log(`${config.name}…`);
      const before = await measureBareLanes(model, inputs.small, config.batch, config.processes);
      rows.push(await runConfiguration(config, i, { dir, redis, s3, objects, inputs, allowWithoutOod }));
      bareAround.push({ before, after: await measureBareLanes(model, inputs.small, config.batch, config.processes) });
    }
    await model.close();
    console.log('floor: storage and queue alone, no worker…');
    const headlineBare = bareFor(rows[0]!.batchMaxImages);
    const floor = await measureFloor(
      { redis, objects, inputKeys: inputs.inputKeys, resultBytes: rows[0]!.resultBytes }, headlineBare, WORKER_DEFAULT_CONCURRENCY,
    );
    printTables(bare, rows, bareFor);
    printFloor(floor, headlineBare);

    const headline = rows[0]!; // the default deployment: one process, default config
    const best = rows.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
    const bareBest = bare.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
    const summary = {
      model: modelInfo,
      jobs: JOBS,
      input: { width: inputs.width, height: inputs.height, distinctImages: IMAGE_COUNT },
      imagesPerSecond: headline.imagesPerSecond,
      bareImagesPerSecond: bareFor(headline.batchMaxImages).imagesPerSecond,
      overheadRatio: headline.msPerImage / bareFor(headline.batchMaxImages).totalMsPerImage,
      best: { configuration: best.name, imagesPerSecond: best.imagesPerSecond, overheadRatioVsBestBare: bareBest.imagesPerSecond / best.imagesPerSecond },
      goal: { maxOverheadRatio: 1.25, met: headline.msPerImage / bareFor(headline.batchMaxImages).totalMsPerImage <= 1.25 },
      floor: {
        ...floor,
        overheadRatio: floor.floorMsPerImage / headlineBare.totalMsPerImage,
        overheadRatioBareModel: floor.floorBareModelMsPerImage / headlineBare.totalMsPerImage,
      },
      bare,
      configurations: rows.map((r) => ({ ...r, overheadRatio: r.msPerImage / bareFor(r.batchMaxImages).totalMsPerImage })),
      // Each configuration against the bare lanes measured just before and after it.
      byConfiguration: rows.map((r, i) => {
        const { before, after } = bareAround[i]!;
        const bareIps = (before.imagesPerSecond + after.imagesPerSecond) / 2;
        return { configuration: r.name, processes: r.processes, imagesPerSecond: r.imagesPerSecond, bareImagesPerSecond: bareIps, bareBefore: before.imagesPerSecond, bareAfter: after.imagesPerSecond, ratioToBare: r.imagesPerSecond / bareIps };
      }),
      // Per process count: the service's images/s beside as many bare lanes at once (the mean of the
      // measurements just before and just after it), and their ratio.
      byProcesses: Object.fromEntries([...new Set(rows.map((r) => r.processes))].map((processes) => {
        const i = rows.reduce((best, row, j) => (row.processes === processes && (best < 0 || row.imagesPerSecond > rows[best]!.imagesPerSecond) ? j : best), -1);
        const r = rows[i]!;
        const { before, after } = bareAround[i]!;
        const bareIps = (before.imagesPerSecond + after.imagesPerSecond) / 2;
        // On a machine shared with other work, wall-clock ratios move with the neighbours' load; CPU
        // per image does much less: the bare model's against all the service's (workers, s3rver, redis).
        const bareCpu = (before.cpuMsPerImage + after.cpuMsPerImage) / 2;
        const serviceCpu = r.cpuMsPerImage.workers + r.cpuMsPerImage.s3rverAndBench + r.cpuMsPerImage.redis;
        return [processes, {
          configuration: r.name, imagesPerSecond: r.imagesPerSecond, bareImagesPerSecond: bareIps, ratioToBare: r.imagesPerSecond / bareIps, bareLoops: processes,
          bareBefore: before.imagesPerSecond, bareAfter: after.imagesPerSecond,
          bareCpuMsPerImage: bareCpu, workerCpuMsPerImage: r.cpuMsPerImage.workers, serviceCpuMsPerImage: serviceCpu, cpuRatioToBare: bareCpu / serviceCpu,
          workerCpuRatioToBare: bareCpu / r.cpuMsPerImage.workers,
        }];
      })),
    };
    for (const [processes, p] of Object.entries(summary.byProcesses)) {
      console.log(`${processes} process(es): ${round(p.imagesPerSecond, 2)} images/s vs bare ${round(p.bareImagesPerSecond, 2)} (${processes} lane(s): ${round(p.bareBefore, 2)} before, ${round(p.bareAfter, 2)} after) → ${round(p.ratioToBare, 2)}× bare; CPU per image: bare ${round(p.bareCpuMsPerImage, 1)} ms, service ${round(p.serviceCpuMsPerImage, 1)} ms (workers ${round(p.workerCpuMsPerImage, 1)}) → ${round(p.cpuRatioToBare, 2)}× bare`);
    }
    for (const c of summary.byConfiguration) console.log(`${c.configuration}: ${round(c.imagesPerSecond, 2)} images/s vs bare ${round(c.bareImagesPerSecond, 2)} (${round(c.bareBefore, 2)} before, ${round(c.bareAfter, 2)} after) → ${round(c.ratioToBare, 2)}× bare`);
    console.log(`\nheadline (${headline.name}): ${round(summary.imagesPerSecond)} images/s vs bare ${round(summary.bareImagesPerSecond)} images/s → overhead ${round(summary.overheadRatio, 2)}× (goal ≤ 1.25×: ${summary.goal.met ? 'met' : 'NOT met'})`);
    if (args.out) {
      const settings = { model: `${modelInfo.id}@${modelInfo.version}`, jobs: JOBS, distinctImages: IMAGE_COUNT, imageWidth: inputs.width, bareSeconds: BARE_SECONDS, configurations: CONFIGURATIONS.map((c) => c.name) };
      writeFileSync(args.out, `${JSON.stringify(benchRecord('worker', settings, summary), null, 2)}\n`);
      console.log(`wrote ${args.out}`);
    }
  } finally {
    await redis?.stop();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
