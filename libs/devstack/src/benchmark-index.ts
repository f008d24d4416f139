// The table of kept benchmark records (docs/benchmarks/*.json, each a benchmark's `--out` JSON
// with the metadata of bench-record.ts) that `npm run bench:index` writes to
// docs/benchmarks/README.md. Generated, so the docs cite a record instead of copying its numbers
// by hand, and an old figure cannot pass for a new one.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchmarkName, MachineInfo } from './bench-record.ts';

export interface BenchmarkRecordSummary {
  file: string;
  benchmark: BenchmarkName;
  recordedAt: string;
  machine: MachineInfo;
  note: string | undefined;
  /** The headline figure(s), each with its same-run baseline ratio where the benchmark has one. */
  headline: string;
}

export class BenchmarkRecordError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'BenchmarkRecordError';
  }
}

type Json = Record<string, unknown>;

/** The number at `path`; NaN for `null`, which is how the benchmarks write a figure a run could not measure. */
function num(record: Json, path: string, file: string): number {
  let value: unknown = record;
  for (const key of path.split('.')) value = typeof value === 'object' && value !== null ? (value as Json)[key] : undefined;
  if (value === null) return Number.NaN;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new BenchmarkRecordError(file, `no number at "${path}"`);
  return value;
}

const fixed = (n: number, digits: number): string => (Number.isNaN(n) ? 'n/a' : n.toFixed(digits));

/** One line per benchmark kind: what its README and the docs quote from a run. */
const HEADLINES: Record<BenchmarkName, (r: Json, file: string) => string> = {
  model: (r, f) =>
    `analyse ${fixed(num(r, 'msPerImage', f), 2)} ms/image vs bare session.run ${fixed(num(r, 'bareMsPerImage', f), 2)}: ${fixed(num(r, 'ratio', f), 2)}×`,
  eval: (r, f) =>
    `macro AUC ${fixed(num(r, 'summary.macroAuc', f), 3)} (subtle ${fixed(num(r, 'summary.macroAucSubtle', f), 3)}), report F1 ${fixed(num(r, 'summary.reportFindingF1', f), 3)}`,
  ingest: (r, f) =>
    `${fixed(num(r, 'instancesPerSecond', f), 1)} instances/s: ${fixed(num(r, 'ratioToOrthanc', f), 2)}× Orthanc, ${fixed(num(r, 'ratioToCeiling', f), 2)}× storescp ceiling`,
  worker: (r, f) =>
    `${fixed(num(r, 'imagesPerSecond', f), 0)} images/s vs bare ${fixed(num(r, 'bareImagesPerSecond', f), 0)}: ${fixed(num(r, 'overheadRatio', f), 2)}× (floor ${fixed(num(r, 'floor.overheadRatio', f), 2)}×)`,
  e2e: (r, f) => {
    const workers = r.workers;
    if (typeof workers !== 'object' || workers === null) throw new BenchmarkRecordError(f, 'no "workers" object');
    return Object.keys(workers)
      .sort((a, b) => Number(a) - Number(b))
      .map((n) => `${n} worker${n === '1' ? '' : 's'}: ${fixed(num(r, `workers.${n}.throughputPerSecond`, f), 2)} studies/s, P50 ${fixed(num(r, `workers.${n}.latencyMs.p50`, f) / 1000, 1)} s (${fixed(num(r, `scaling.${n}`, f), 2)}×)`)
      .join('; ');
  },
};

export function summariseRecord(file: string, record: unknown): BenchmarkRecordSummary {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new BenchmarkRecordError(file, 'not a JSON object');
  const r = record as Json;
  const benchmark = r.benchmark;
  if (typeof benchmark !== 'string' || !(benchmark in HEADLINES)) {
    throw new BenchmarkRecordError(file, `"benchmark" must be one of ${Object.keys(HEADLINES).join(', ')} (got ${JSON.stringify(benchmark)})`);
  }
  if (typeof r.recordedAt !== 'string' || Number.isNaN(Date.parse(r.recordedAt))) throw new BenchmarkRecordError(file, 'no ISO "recordedAt" time');
  const machine = r.machine as MachineInfo | undefined;
  if (typeof machine !== 'object' || machine === null || typeof machine.cores !== 'number' || typeof machine.cpuModel !== 'string') {
    throw new BenchmarkRecordError(file, 'no "machine" with cpuModel and cores');
  }
  const settings = (typeof r.settings === 'object' && r.settings !== null ? r.settings : {}) as Json;
  return {
    file,
    benchmark: benchmark as BenchmarkName,
    recordedAt: new Date(r.recordedAt).toISOString(),
    machine,
    note: typeof settings.note === 'string' ? settings.note : undefined,
    headline: HEADLINES[benchmark as BenchmarkName](r, file),
  };
}

/** Every `*.json` in `dir` as a summary, newest first. A file that is not a record stops it, named. */
export async function readBenchmarkRecords(dir: string): Promise<BenchmarkRecordSummary[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const summaries: BenchmarkRecordSummary[] = [];
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (error) {
      throw new BenchmarkRecordError(file, `not valid JSON (${(error as Error).message})`);
    }
    summaries.push(summariseRecord(file, parsed));
  }
  return summaries.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt) || a.file.localeCompare(b.file));
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

function machineCell(m: MachineInfo): string {
  const load = Array.isArray(m.loadAverage) ? `, load ${m.loadAverage[0]}` : '';
  return `${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}${load}`;
}

export function renderBenchmarkIndex(records: BenchmarkRecordSummary[]): string {
  const lines = [
    '# Benchmark records',
    '',
    'Generated by `npm run bench:index`, do not edit. Each row is one benchmark\'s `--out` JSON kept here',
    '(machine, settings and every figure are in the file). Ratios are against a baseline measured in the',
    'same run; figures from different machines are not comparable.',
    '',
    'Add one: `CXR_BENCH_NOTE="…" npm run bench:model -- --out docs/benchmarks/YYYY-MM-DD-model.json`',
    '(likewise `npm run eval`, `bench:ingest`, `bench:worker`, `bench:e2e`), then `npm run bench:index`.',
    'The reference model\'s own evaluation, quoted by its model card, stays in the model package',
    '([models/reference-cxr/evaluation.json](../../models/reference-cxr/evaluation.json)).',
    '',
  ];
  if (records.length === 0) {
    lines.push('No records yet.');
  } else {
    lines.push('| recorded (UTC) | benchmark | machine | headline | note | record |', '|---|---|---|---|---|---|');
    for (const r of records) {
      lines.push(`| ${r.recordedAt.slice(0, 16).replace('T', ' ')} | ${r.benchmark} | ${cell(machineCell(r.machine))} | ${cell(r.headline)} | ${cell(r.note ?? '')} | [${r.file}](${r.file}) |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Reads the records in `dir` and writes `dir/README.md`; returns how many records it lists. */
export async function writeBenchmarkIndex(dir: string): Promise<number> {
  const records = await readBenchmarkRecords(dir);
  await writeFile(join(dir, 'README.md'), renderBenchmarkIndex(records));
  return records.length;
}
