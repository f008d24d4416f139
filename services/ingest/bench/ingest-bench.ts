/**
 * DIMSE receive throughput: the same batch sent by `dcmsend` (TCP_NODELAY=1) to
 *   ours     the ingest service in-process, with a real redis-server (AOF on) and s3rver on local
 *            disk (on its own thread, as the object store is its own server in production); it
 *            answers success only after the object is stored and recorded;
 *   orthanc  Debian's Orthanc 1.10 with its own temp storage (configuration as shipped);
 *   ceiling  DCMTK `storescp --ignore`, which receives and discards: the network and sender limit.
 * Each send is timed from dcmsend's start to its exit, one receiver after another.
 *
 *   npm run bench:ingest -- [--small 300] [--large 20] [--out result.json]
 *
 * Batches: "small" is copies of the test corpus's 128x128 CT (~34 KB) with fresh SOP Instance UIDs (one study);
 * "large" is 2048x2048 16-bit DX chest phantoms (~8 MB) each in its own study. Before timing,
 * each receiver gets a short distinct warm-up batch. Between our batches the bench waits for the
 * study completions the association end triggered (decode, analysis image) so that they do not
 * steal the 2 cores from the next measurement; that time is reported apart ("post-processing").
 * Then the same files are PUT straight to our s3rver (the storage floor: how much of our time is
 * s3rver's own).
 *
 * Ours runs in this process, so this process runs with the node flags the ingest service is
 * started with (cxr.nodeFlags in its package.json): without them it starts itself again with them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { QUEUE_NAMES } from '@cxr/contracts';
import { runDcmtk, startDcmtk } from '@cxr/dcmtk';
import { benchRecord, freePort, serviceNodeFlags, startRedisServer, startS3Server, waitFor } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore, createWorkerConnection } from '@cxr/platform';
import { loadConfig } from '../src/config.ts';
import { createIngestService } from '../src/service.ts';
import { startOrthanc } from '../src/interop/orthanc.test-support.ts';
import { ensureCorpus } from '@cxr/test-corpus/build';

const run = promisify(execFile);
const RECEIVERS = ['ours', 'orthanc', 'ceiling'] as const;
type Receiver = (typeof RECEIVERS)[number];
const BATCHES = ['small', 'large'] as const;
type BatchName = (typeof BATCHES)[number];

interface Batch {
  dir: string;
  instances: number;
  bytes: number;
}

interface Target {
  host: string;
  port: number;
  aeTitle: string;
}

/** The ingest service's node flags (its GC settings): ours must be measured as it runs. */
const INGEST_NODE_FLAGS = serviceNodeFlags('ingest');
const missingFlags = INGEST_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));

const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '300' },
    large: { type: 'string', default: '20' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const smallCount = Number(args.small);
const largeCount = Number(args.large);
if (!Number.isInteger(smallCount) || smallCount < 1 || !Number.isInteger(largeCount) || largeCount < 1) {
  throw new Error('--small and --large must be positive integers');
}

function batchOf(dir: string): Batch {
  const files = readdirSync(dir);
  return { dir, instances: files.length, bytes: files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) };
}

/** `count` copies of the test corpus's 128x128 CT, each with a fresh SOP Instance UID (dcmodify -gin). */
async function buildSmallBatch(dir: string, count: number): Promise<Batch> {
  mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: count }, (_, i) => join(dir, `ct-${String(i).padStart(5, '0')}.dcm`));
  const template = join(ensureCorpus(), 'ct-signed-rescale.dcm');
  for (const f of files) copyFileSync(template, f);
  for (let i = 0; i < files.length; i += 200) await runDcmtk('dcmodify', ['-nb', '-gin', ...files.slice(i, i + 200)]);
  return batchOf(dir);
}

/**
 * `count` 2048x2048 16-bit DX instances: two phantoms rendered (rendering is the slow part), then
 * copied with fresh study, series and instance UIDs so each is its own study.
 */
async function buildLargeBatch(dir: string, count: number): Promise<Batch> {
  mkdirSync(dir, { recursive: true });
  const templates = [1, 2].slice(0, count).map((seed) => makeChestStudy({ seed, size: 2048, aspect: 1 }).file);
  const files = Array.from({ length: count }, (_, i) => join(dir, `dx-${String(i).padStart(4, '0')}.dcm`));
  files.forEach((f, i) => writeFileSync(f, templates[i % templates.length]!));
  await runDcmtk('dcmodify', ['-nb', '-gst', '-gse', '-gin', ...files]);
  return batchOf(dir);
}

/** Sends a directory with dcmsend and returns the seconds it took; throws unless every C-STORE succeeded. */
async function timedSend(batch: Batch, target: Target): Promise<number> {
  // Every send starts with nothing waiting to be written back: otherwise the batch just built
  // (~180 MB) or the previous receiver's files are flushed to disk during the next timed send,
  // and the receiver that runs first (ours) paid for it (its Redis AOF and s3rver writes stalled).
  await run('sync');
  process.stdout.write(`  sending ${batch.instances} instances to ${target.aeTitle} ... `);
  const started = process.hrtime.bigint();
  const { stdout, stderr } = await runDcmtk(
    'dcmsend',
    ['-v', '-aet', 'BENCH', '-aec', target.aeTitle, target.host, String(target.port), '+sd', batch.dir],
    { timeoutMs: 600_000 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const success = /with status SUCCESS\s*:\s*(\d+)/.exec(stdout + stderr);
  if (!success || Number(success[1]) !== batch.instances) {
    throw new Error(`${target.aeTitle}: ${success?.[1] ?? 0} of ${batch.instances} C-STOREs succeeded\n${(stdout + stderr).slice(-2000)}`);
  }
  console.log(`${seconds.toFixed(3)} s`);
  return seconds;
}

async function startStorescp(aeTitle: string): Promise<{ target: Target; child: ChildProcess }> {
  const port = await freePort();
  // --max-pdu as ours advertises (131072): the ceiling should not be held back by a smaller PDU.
  const child = startDcmtk('storescp', ['--ignore', '--max-pdu', '131072', '-aet', aeTitle, String(port)]);
  await waitFor('storescp to answer C-ECHO', async () => {
    const echo = await runDcmtk('echoscu', ['-aec', aeTitle, '127.0.0.1', String(port)], { timeoutMs: 5_000 }).catch(() => undefined);
    return echo ? true : undefined;
  }, 10_000);
  return { target: { host: '127.0.0.1', port, aeTitle }, child };
}

/**
 * The storage floor: the batch's files PUT one after another to our s3rver through the same
 * client (ObjectStore, the minio client), as the C-STOREs store them, without DIMSE, parsing or
 * Redis. Files are read into memory first; only the PUTs are timed. Keys are outside `studies/`.
 */
async function timedPuts(objects: ObjectStore, bucket: string, name: string, batch: Batch): Promise<number> {
  process.stdout.write(`  PUT ${batch.instances} ${name} files straight to s3rver ... `);
  const files = readdirSync(batch.dir).sort().map((f) => ({ f, bytes: readFileSync(join(batch.dir, f)) }));
  const started = process.hrtime.bigint();
  for (const { f, bytes } of files) await objects.put(bucket, `put-alone/${name}/${f}`, bytes, 'application/dicom');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${seconds.toFixed(3)} s`);
  return seconds;
}

/** Waits until the study-completion queue has nothing waiting or active (delayed fallbacks aside). */
async function drainCompletions(redisUrl: string, prefix: string): Promise<number> {
  // A connection we pass in is ours to close: Queue.close() leaves it open.
  const connection = createWorkerConnection(redisUrl);
  const queue = new Queue(QUEUE_NAMES.studyCompletion, { connection, prefix });
  const started = Date.now();
  try {
    await waitFor('study completions to finish', async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
      return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0 ? true : undefined;
    }, 600_000, 200);
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return (Date.now() - started) / 1000;
}

const perSecond = (n: number, s: number) => n / s;
const mb = (bytes: number) => bytes / 1e6;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  const stops: (() => Promise<void> | void)[] = [];
  try {
    // Our s3rver and redis, Orthanc's storage and the batch all live under the same TMPDIR, so
    // every receiver writes to the same kind of file system (TMPDIR=/dev/shm: all in memory,
    // which takes this VM's disk writeback stalls out of the comparison).
    const storage = (await run('stat', ['-f', '-c', '%T', dir])).stdout.trim();
    console.log(`building the batch in ${dir} (${storage}): ${smallCount} small + ${largeCount} large instances ...`);
    console.log(`ours runs in this process with the ingest service's node flags: ${INGEST_NODE_FLAGS.join(' ') || '(none)'}`);
    const batches: Record<BatchName, Batch> = {
      small: await buildSmallBatch(join(dir, 'batch', 'small'), smallCount),
      large: await buildLargeBatch(join(dir, 'batch', 'large'), largeCount),
    };
    const warmups = RECEIVERS.map((r) => r);
    const warmupBatch: Record<string, Batch> = {};
    for (const r of warmups) warmupBatch[r] = await buildSmallBatch(join(dir, 'warmup', r), 10);

    const seconds: Record<BatchName, Partial<Record<Receiver, number>>> = { small: {}, large: {} };
    let postProcessingSeconds = 0;
    const putAloneSeconds: Partial<Record<BatchName, number>> = {};

    // ours
    {
      const redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis'), appendonly: true });
      stops.push(() => redis.stop());
      const buckets = { BUCKET_ORIGINALS: 'bench-originals', BUCKET_DERIVED: 'bench-derived', BUCKET_REPORTS: 'bench-reports' };
      const s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), thread: true });
      stops.push(() => s3.stop());
      const prefix = `ingest-bench-${process.pid}`;
      const config = loadConfig({
        REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: prefix, ...buckets,
        INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()),
      });
      const ingest = createIngestService(config, pino({ level: 'silent' }));
      const address = await ingest.start();
      const stopIngest = () => ingest.stop();
      stops.push(stopIngest);
      const target = { host: address.dimse.host, port: address.dimse.port, aeTitle: config.dimse.aeTitle };
      await timedSend(warmupBatch.ours!, target);
      postProcessingSeconds += await drainCompletions(redis.url, prefix);
      for (const name of BATCHES) {
        seconds[name].ours = await timedSend(batches[name], target);
        postProcessingSeconds += await drainCompletions(redis.url, prefix);
      }
      const objects = new ObjectStore(config.s3);
      const stored = await objects.list(buckets.BUCKET_ORIGINALS, 'studies/');
      const expected = batches.small.instances + batches.large.instances + warmupBatch.ours!.instances;
      if (stored.length !== expected) throw new Error(`ours: ${stored.length} objects stored, expected ${expected}`);
      for (const name of BATCHES) putAloneSeconds[name] = await timedPuts(objects, buckets.BUCKET_ORIGINALS, name, batches[name]);
      await ingest.stop();
      stops.splice(stops.indexOf(stopIngest), 1);
      console.log(`ours: done (post-processing after the sends took ${round(postProcessingSeconds, 1)} s)`);
    }

    // orthanc
    {
      const orthanc = await startOrthanc({ aeTitle: 'ORTHANC' });
      stops.push(() => orthanc.stop());
      const target = { host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: orthanc.aeTitle };
      await timedSend(warmupBatch.orthanc!, target);
      for (const name of BATCHES) seconds[name].orthanc = await timedSend(batches[name], target);
      const stats = (await orthanc.request('GET', '/statistics')).body as { CountInstances: number };
      const expected = batches.small.instances + batches.large.instances + warmupBatch.orthanc!.instances;
      if (stats.CountInstances !== expected) throw new Error(`orthanc: ${stats.CountInstances} instances stored, expected ${expected}`);
      console.log('orthanc: done');
    }

    // ceiling
    {
      const { target, child } = await startStorescp('CEILING');
      stops.push(() => void child.kill('SIGTERM'));
      await timedSend(warmupBatch.ceiling!, target);
      for (const name of BATCHES) seconds[name].ceiling = await timedSend(batches[name], target);
      console.log('ceiling: done');
    }

    type Figures = { instances: number; bytes: number; seconds: Record<Receiver, number>; instancesPerSecond: Record<Receiver, number>; mbPerSecond: Record<Receiver, number> };
    const figures = (instances: number, bytes: number, secs: Record<Receiver, number>): Figures => ({
      instances,
      bytes,
      seconds: Object.fromEntries(RECEIVERS.map((r) => [r, round(secs[r], 3)])) as Record<Receiver, number>,
      instancesPerSecond: Object.fromEntries(RECEIVERS.map((r) => [r, round(perSecond(instances, secs[r]), 1)])) as Record<Receiver, number>,
      mbPerSecond: Object.fromEntries(RECEIVERS.map((r) => [r, round(perSecond(mb(bytes), secs[r]), 1)])) as Record<Receiver, number>,
    });
    const all = (b: BatchName) => seconds[b] as Record<Receiver, number>;
    const result: Record<'small' | 'large' | 'total', Figures> = {
      small: figures(batches.small.instances, batches.small.bytes, all('small')),
      large: figures(batches.large.instances, batches.large.bytes, all('large')),
      total: figures(
        batches.small.instances + batches.large.instances,
        batches.small.bytes + batches.large.bytes,
        Object.fromEntries(RECEIVERS.map((r) => [r, all('small')[r] + all('large')[r]])) as Record<Receiver, number>,
      ),
    };

    const rows = (['small', 'large', 'total'] as const).flatMap((b) =>
      RECEIVERS.map((r) => ({
        batch: b,
        receiver: r,
        instances: result[b].instances,
        MB: round(mb(result[b].bytes), 1),
        seconds: result[b].seconds[r],
        'instances/s': result[b].instancesPerSecond[r],
        'MB/s': result[b].mbPerSecond[r],
        'ours/this (throughput)': r === 'ours' ? '' : round(result[b].seconds[r] / result[b].seconds.ours, 2),
      })),
    );
    console.table(rows);
    const ratioToOrthanc = round(result.total.seconds.orthanc / result.total.seconds.ours, 3);
    const ratioToCeiling = round(result.total.seconds.ceiling / result.total.seconds.ours, 3);
    console.log(`total: ours is ${ratioToOrthanc}x Orthanc's throughput and ${ratioToCeiling}x the storescp --ignore ceiling`);
    console.log(`our study completions after the sends (not timed above): ${round(postProcessingSeconds, 1)} s`);
    const putAlone = Object.fromEntries(BATCHES.map((b) => {
      const msPerInstance = (1000 * putAloneSeconds[b]!) / result[b].instances;
      const oursMsPerInstance = (1000 * result[b].seconds.ours) / result[b].instances;
      return [b, { seconds: round(putAloneSeconds[b]!, 3), msPerInstance: round(msPerInstance, 2), shareOfOurs: round(msPerInstance / oursMsPerInstance, 2) }];
    })) as Record<BatchName, { seconds: number; msPerInstance: number; shareOfOurs: number }>;
    for (const b of BATCHES) {
      const ours = (1000 * result[b].seconds.ours) / result[b].instances;
      const orthanc = (1000 * result[b].seconds.orthanc) / result[b].instances;
      console.log(`${b}: ours ${round(ours, 2)} ms per instance, of which a bare s3rver PUT of the same bytes takes ${putAlone[b].msPerInstance} ms; Orthanc ${round(orthanc, 2)} ms`);
    }

    if (args.out) {
      const settings = { small: smallCount, large: largeCount, sender: 'dcmsend (TCP_NODELAY=1)', oursNodeFlags: INGEST_NODE_FLAGS, storage: `${tmpdir()} (${storage})` };
      const json = benchRecord('ingest', settings, {
        instancesPerSecond: result.total.instancesPerSecond,
        mbPerSecond: result.total.mbPerSecond,
        ratioToOrthanc,
        ratioToCeiling,
        batches: result,
        postProcessingSeconds: round(postProcessingSeconds, 2),
        s3rverPutAlone: putAlone,
      });
      writeFileSync(args.out, `${JSON.stringify(json, null, 2)}\n`);
      console.log(`wrote ${args.out}`);
    }
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (missingFlags.length > 0) {
  // Heap flags cannot be set once V8 runs: start again with them (tsx's loader flags are in execArgv).
  const child = spawn(process.execPath, [...missingFlags, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
} else {
  await main();
}
