// What every benchmark's `--out` JSON carries besides its figures, so the file can be kept as a
// dated record under docs/benchmarks/ and compared with later ones: which benchmark, when, on
// what machine, with which settings. Figures from different machines are not comparable, and a
// machine shared with other work is slower than a quiet one, hence the load average and the
// free-text note (CXR_BENCH_NOTE) that says so.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export type BenchmarkName = 'model' | 'eval' | 'ingest' | 'worker' | 'e2e';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1, 5 and 15 minute load averages when the record was written: how busy the machine was. */
  loadAverage: [number, number, number];
}

export interface BenchRecordMeta {
  benchmark: BenchmarkName;
  /** ISO 8601 time the record was written (the end of the run). */
  recordedAt: string;
  machine: MachineInfo;
  settings: Record<string, unknown>;
}

let osName: string | undefined;

function prettyOsName(): string {
  if (osName !== undefined) return osName;
  osName = process.platform;
  try {
    osName = execFileSync('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'], { encoding: 'utf8' }).trim() || osName;
  } catch {
    // not Linux (no /etc/os-release): keep the platform name
  }
  return osName;
}

export function machineInfo(): MachineInfo {
  const [one, five, fifteen] = loadavg();
  const round2 = (n = 0): number => Math.round(n * 100) / 100;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: prettyOsName(),
    loadAverage: [round2(one), round2(five), round2(fifteen)],
  };
}

/**
 * The JSON a benchmark writes with `--out`: the metadata first, then the benchmark's own figures
 * unchanged. `CXR_BENCH_NOTE` (e.g. "machine shared with other work") lands in `settings.note`.
 */
export function benchRecord<T extends object>(
  benchmark: BenchmarkName,
  settings: Record<string, unknown>,
  figures: T,
  env: NodeJS.ProcessEnv = process.env,
): BenchRecordMeta & T {
  const note = env.CXR_BENCH_NOTE?.trim();
  return {
    benchmark,
    recordedAt: new Date().toISOString(),
    machine: machineInfo(),
    settings: { ...settings, ...(note ? { note } : {}) },
    ...figures,
  };
}
