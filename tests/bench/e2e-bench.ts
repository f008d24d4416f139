/**
 * End-to-end latency and worker scaling: studies sent by `dcmsend` at a sustained rate through the
 * whole stack (real redis-server with AOF, s3rver, ingest, N inference workers and the report
 * service, each its own process), for 1, 2 and 4 worker processes.
 *
 *   npm run bench:e2e -- [--workers 1,2,4] [--studies 40] [--rate 1] [--warmup 3]
 *                        [--intra-op-threads 1] [--size 1024] [--out result.json]
 *
 * Latency is measured per study from its association's release (dcmsend's exit: it leaves only
 * after the A-RELEASE-RP) to its draft being available (the report service's `report-updated`
 * event with status `draft` on `GET /api/events`, or a `GET /api/studies/{uid}/report` poll for a
 * study whose event this bench missed). The report service's own histogram
 * (`cxr_report_e2e_latency_seconds`, from ingest holding the study complete) is read afterwards as
 * a cross-check. Throughput is studies over the time from the first send to the last draft; with
 * an offered rate above what one worker sustains, it is what N workers sustain, and `scaling` is
 * that throughput over one worker's.
 *
 * The default rate (1 study/s) is a little above what one worker process with one intra-op thread
 * sustains on the 2-core development machine, so the effect of more workers shows.
 *
 * Everything shares this machine's cores (the bench prints how many): with 2 cores, workers beyond
 * 2 compete with each other and with ingest, report, s3rver and Redis, so scaling flattens.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { reportUpdatedEventSchema } from '@cxr/contracts';
import { benchRecord, dcmsend, machineInfo, startStack, waitFor, type Stack } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { mintDevToken } from '@cxr/platform';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4' },
    studies: { type: 'string', default: '40' },
    rate: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    'intra-op-threads': { type: 'string', default: '1' },
    size: { type: 'string', default: '1024' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const workerCounts = args.workers.split(',').map(Number);
const studyCount = Number(args.studies);
const rate = Number(args.rate);
const warmupCount = Number(args.warmup);
const intraOpThreads = Number(args['intra-op-threads']);
const size = Number(args.size);
if (!workerCounts.every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--workers: comma-separated positive integers');
if (!Number.isInteger(studyCount) || studyCount < 2) throw new Error('--studies: an integer of at least 2');
if (!(rate > 0)) throw new Error('--rate: studies per second, above 0');
if (!Number.isInteger(warmupCount) || warmupCount < 0) throw new Error('--warmup: a non-negative integer');
if (!Number.isInteger(intraOpThreads) || intraOpThreads < 0) throw new Error('--intra-op-threads: a non-negative integer (0 = onnxruntime decides)');

interface Percentiles { p50: number; p95: number; p99: number; mean: number; min: number; max: number }
interface RunResult {
  workers: number;
  studies: number;
  completed: number;
  offeredPerSecond: number;
  throughputPerSecond: number;
  latencyMs: Percentiles;
  /** The report service's `cxr_report_e2e_latency_seconds` over the same studies (mean only). */
  serverMeanLatencyMs: number | null;
  /** How many drafts were seen on the event stream (the rest were found by polling). */
  seenOnEventStream: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function summarise(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), mean, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}

interface SentStudy {
  uid: string;
  file: string;
  releasedAt?: number;
  draftAt?: number;
}

/**
 * Watches `GET /api/events?status=draft` and calls `onDraft(uid, time)` as drafts appear. Resolves
 * once the stream is live, or to undefined if the service has no event stream (then polling does).
 */
async function watchDrafts(stack: Stack, token: string, onDraft: (uid: string, at: number) => void): Promise<AbortController | undefined> {
  const abort = new AbortController();
  const res = await fetch(`${stack.reportUrl}/api/events?status=draft`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: abort.signal }).catch(() => undefined);
  if (!res?.ok || !res.body) return undefined;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let live: () => void = () => undefined;
  const ready = new Promise<void>((r) => (live = r));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const at = Date.now();
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          if (event === 'ready') live();
          if (event !== 'report-updated') continue;
          const data = /^data: (.+)$/m.exec(block)?.[1];
          const parsed = data ? reportUpdatedEventSchema.safeParse(JSON.parse(data)) : undefined;
          if (parsed?.success && parsed.data.status === 'draft') onDraft(parsed.data.studyInstanceUid, at);
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  await Promise.race([ready, new Promise((r) => setTimeout(r, 5000))]);
  return abort;
}

async function reportStatus(stack: Stack, token: string, uid: string): Promise<string | undefined> {
  const res = await fetch(`${stack.reportUrl}/api/studies/${uid}/report`, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { status: string }).status;
}

async function serverLatency(stack: Stack): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${stack.reportUrl}/metrics`)).text();
  const read = (series: string) => Number(new RegExp(`^${series}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { count: read('cxr_report_e2e_latency_seconds_count'), sum: read('cxr_report_e2e_latency_seconds_sum') };
}

async function sendAndWait(stack: Stack, token: string, studies: SentStudy[], perSecond: number, timeoutMs: number): Promise<{ firstSend: number; seenOnStream: number }> {
  const byUid = new Map(studies.map((s) => [s.uid, s]));
  let seenOnStream = 0;
  const abort = await watchDrafts(stack, token, (uid, at) => {
    const s = byUid.get(uid);
    if (s && s.draftAt === undefined) {
      s.draftAt = at;
      seenOnStream += 1;
    }
  });
  const target = { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle };
  const firstSend = Date.now();
  // Sustained rate: send i starts at firstSend + i / rate, whether or not earlier ones are done.
  await Promise.all(studies.map(async (s, i) => {
    const wait = firstSend + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await dcmsend([s.file], target);
    s.releasedAt = Date.now();
  }));
  // Drafts the stream did not report (or no stream at all): poll.
  await waitFor(`${studies.length} drafts`, async () => {
    for (const s of studies) {
      if (s.draftAt !== undefined) continue;
      const status = await reportStatus(stack, token, s.uid);
      if (status === 'draft') s.draftAt = Date.now();
      else if (status === 'failed' || status === 'not-eligible') throw new Error(`a study ended ${status}; see ${stack.logDir}`);
    }
    return studies.every((s) => s.draftAt !== undefined) ? true : undefined;
  }, timeoutMs, abort ? 1000 : 100);
  abort?.abort();
  return { firstSend, seenOnStream };
}

async function runWith(workers: number, files: { warmup: SentStudy[]; measured: SentStudy[] }, dataDir: string, token: string): Promise<RunResult> {
  const stack = await startStack({
    dataDir,
    workers,
    resetS3: true,
    redisAppendOnly: true,
    env: { LOG_LEVEL: 'warn', WORKER_INTRA_OP_THREADS: String(intraOpThreads) },
  });
  try {
    if (files.warmup.length > 0) await sendAndWait(stack, token, files.warmup, 1, 120_000);
    const before = await serverLatency(stack);
    const timeoutMs = Math.max(180_000, (files.measured.length / rate) * 1000 * 6);
    const { firstSend, seenOnStream } = await sendAndWait(stack, token, files.measured, rate, timeoutMs);
    const after = await serverLatency(stack);
    const latencies = files.measured.map((s) => s.draftAt! - s.releasedAt!);
    const lastDraft = Math.max(...files.measured.map((s) => s.draftAt!));
    const serverCount = after.count - before.count;
    return {
      workers,
      studies: files.measured.length,
      completed: latencies.length,
      offeredPerSecond: rate,
      throughputPerSecond: files.measured.length / ((lastDraft - firstSend) / 1000),
      latencyMs: summarise(latencies),
      serverMeanLatencyMs: serverCount > 0 ? ((after.sum - before.sum) / serverCount) * 1000 : null,
      seenOnEventStream: seenOnStream,
    };
  } finally {
    await stack.stop();
  }
}

function studiesFor(dir: string, run: string, count: number, seedBase: number): SentStudy[] {
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: count }, (_, i) => {
    // Fresh UIDs per run (each run is a fresh stack anyway); phantoms vary by seed.
    const study = makeChestStudy({ seed: seedBase + i, size });
    const file = join(dir, `${run}-${String(i).padStart(4, '0')}.dcm`);
    writeFileSync(file, study.file);
    return { uid: study.studyInstanceUid, file };
  });
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  const host = machineInfo();
  const root = mkdtempSync(join(tmpdir(), 'cxr-bench-e2e-'));
  const token = await mintDevToken({ role: 'viewer', sub: 'bench-e2e', name: 'e2e benchmark' });
  console.log(`machine: ${host.cores} CPU cores (${host.cpuModel}), ${host.memoryGiB} GiB, ${host.os}, Node ${host.node}`);
  console.log(`  everything (redis-server, s3rver, ingest, workers, report, dcmsend, this bench) shares these ${host.cores} cores;`);
  if (host.cores <= 2) console.log(`  with ${host.cores} cores, scaling beyond ${host.cores} worker processes flattens.`);
  console.log(`offered: ${rate} studies/s, ${studyCount} studies per run (+${warmupCount} warm-up), 1 DX image ${size} px wide per study, ` +
    `WORKER_INTRA_OP_THREADS=${intraOpThreads}`);
  console.log('latency: association release (dcmsend exit) → draft available (report-updated event / GET report)\n');

  const results: RunResult[] = [];
  try {
    for (const workers of workerCounts) {
      const files = {
        warmup: studiesFor(join(root, 'files'), `w${workers}-warmup`, warmupCount, 10_000 * workers),
        measured: studiesFor(join(root, 'files'), `w${workers}`, studyCount, 10_000 * workers + 1000),
      };
      process.stdout.write(`${workers} worker process${workers === 1 ? '' : 'es'}... `);
      const result = await runWith(workers, files, join(root, `stack-${workers}`), token);
      results.push(result);
      console.log(`done (${fmt(result.throughputPerSecond, 2)} studies/s, p50 ${fmt(result.latencyMs.p50)} ms; ${result.seenOnEventStream}/${result.studies} drafts seen on the event stream)`);
    }
  } finally {
    if (!args.keep) rmSync(root, { recursive: true, force: true });
  }

  const base = results.find((r) => r.workers === 1) ?? results[0]!;
  const scaling = Object.fromEntries(results.map((r) => [String(r.workers), r.throughputPerSecond / base.throughputPerSecond]));
  console.log('');
  console.log('| workers | studies | throughput (studies/s) | P50 ms | P95 ms | P99 ms | max ms | server mean ms | scaling vs 1 |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.workers} | ${r.completed}/${r.studies} | ${fmt(r.throughputPerSecond, 2)} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p95)} | ${fmt(r.latencyMs.p99)} | ` +
      `${fmt(r.latencyMs.max)} | ${r.serverMeanLatencyMs === null ? '-' : fmt(r.serverMeanLatencyMs)} | ${fmt(scaling[String(r.workers)]!, 2)}× |`);
  }
  console.log(`\nthroughput = studies / (last draft − first send) at an offered ${rate} studies/s; scaling = throughput(N) / throughput(1).`);
  console.log('server mean = the report service\'s cxr_report_e2e_latency_seconds (from the last instance stored, just before the release).');

  if (args.out) {
    const out = resolve(args.out);
    mkdirSync(dirname(out), { recursive: true });
    const byWorkers = Object.fromEntries(results.map((r) => [String(r.workers), r]));
    const settings = { offeredPerSecond: rate, studies: studyCount, warmup: warmupCount, imageWidth: size, intraOpThreads };
    writeFileSync(out, `${JSON.stringify(benchRecord('e2e', settings, { workers: byWorkers, scaling }), null, 2)}\n`);
    console.log(`wrote ${out}`);
  }
}

await main();
