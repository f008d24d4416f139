/**
 * One memory budget for every instance being received, DIMSE and STOW-RS together: receivers
 * reserve bytes as data arrives and release them once the instance is stored or refused. When a
 * reservation would exceed the budget it fails, and the receiver refuses new data with a status
 * the sender retries (C-STORE 0xA700, STOW-RS 503 with Retry-After) instead of the process
 * growing towards its container's memory limit.
 *
 * The default budget is a fraction of the cgroup memory limit when there is one (v2
 * `memory.max`, v1 `memory.limit_in_bytes`), else a fixed size.
 */
import { readFileSync } from 'node:fs';
import type { ReceiveBudget } from '@cxr/dimse';

/** Share of the container's memory limit the receive budget takes by default. */
export const CGROUP_BUDGET_FRACTION = 0.25;
/** Default budget without a cgroup limit. */
export const FALLBACK_BUDGET_BYTES = 1024 * 1024 * 1024;
/** cgroup v1 reports "no limit" as a huge number (close to 2^63). */
const V1_NO_LIMIT = 2 ** 60;

const CGROUP_V2_MAX = '/sys/fs/cgroup/memory.max';
const CGROUP_V1_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';

export class MemoryBudget implements ReceiveBudget {
  private reserved = 0;
  private peak = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isInteger(limitBytes) || limitBytes < 1) throw new Error('memory budget must be a positive integer of bytes');
  }

  tryReserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.reserved + bytes > this.limitBytes) return false;
    this.reserved += bytes;
    if (this.reserved > this.peak) this.peak = this.reserved;
    return true;
  }

  release(bytes: number): void {
    this.reserved = Math.max(0, this.reserved - Math.max(0, bytes));
  }

  get reservedBytes(): number {
    return this.reserved;
  }

  get peakBytes(): number {
    return this.peak;
  }
}

type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The container's memory limit in bytes, or undefined when there is none (or no cgroup). */
export function cgroupMemoryLimit(read: ReadText = readText): number | undefined {
  const v2 = read(CGROUP_V2_MAX)?.trim();
  if (v2 !== undefined && v2 !== '') {
    if (v2 === 'max') return undefined;
    const bytes = Number(v2);
    return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
  }
  const v1 = read(CGROUP_V1_LIMIT)?.trim();
  if (v1 === undefined || v1 === '') return undefined;
  const bytes = Number(v1);
  return Number.isFinite(bytes) && bytes > 0 && bytes < V1_NO_LIMIT ? bytes : undefined;
}

/** The budget to use: the setting when given, else a fraction of the cgroup limit, else the fallback. */
export function receiveBudgetBytes(setting: number | undefined, read: ReadText = readText): { bytes: number; source: 'setting' | 'cgroup' | 'default' } {
  if (setting !== undefined) return { bytes: setting, source: 'setting' };
  const limit = cgroupMemoryLimit(read);
  if (limit !== undefined) return { bytes: Math.max(1, Math.floor(limit * CGROUP_BUDGET_FRACTION)), source: 'cgroup' };
  return { bytes: FALLBACK_BUDGET_BYTES, source: 'default' };
}
