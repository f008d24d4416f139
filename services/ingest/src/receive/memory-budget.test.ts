import { describe, expect, test } from 'vitest';
import { CGROUP_BUDGET_FRACTION, FALLBACK_BUDGET_BYTES, MemoryBudget, cgroupMemoryLimit, receiveBudgetBytes } from './memory-budget.ts';

const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe('MemoryBudget', () => {
  test('reserves up to its limit, refuses what would exceed it, and takes reservations again once released', () => {
    const budget = new MemoryBudget(100);
    expect(budget.tryReserve(60)).toBe(true);
    expect(budget.tryReserve(41)).toBe(false);
    expect(budget.reservedBytes).toBe(60);
    expect(budget.tryReserve(40)).toBe(true);
    budget.release(60);
    expect(budget.tryReserve(60)).toBe(true);
    expect(budget.reservedBytes).toBe(100);
    expect(budget.peakBytes).toBe(100);
  });

  test('never goes below zero when more is released than was reserved', () => {
    const budget = new MemoryBudget(10);
    budget.release(5);
    expect(budget.reservedBytes).toBe(0);
    expect(budget.tryReserve(10)).toBe(true);
  });

  test('refuses a limit that is not a positive integer', () => {
    expect(() => new MemoryBudget(0)).toThrow(/positive integer/);
  });
});

describe('receive budget size', () => {
  test('reads a cgroup v2 limit and takes its fraction', () => {
    const read = files({ '/sys/fs/cgroup/memory.max': '2147483648\n' });
    expect(cgroupMemoryLimit(read)).toBe(2147483648);
    expect(receiveBudgetBytes(undefined, read)).toEqual({ bytes: Math.floor(2147483648 * CGROUP_BUDGET_FRACTION), source: 'cgroup' });
  });

  test('treats cgroup v2 "max" as no limit and falls back to the fixed default', () => {
    const read = files({ '/sys/fs/cgroup/memory.max': 'max\n' });
    expect(cgroupMemoryLimit(read)).toBeUndefined();
    expect(receiveBudgetBytes(undefined, read)).toEqual({ bytes: FALLBACK_BUDGET_BYTES, source: 'default' });
  });

  test('reads a cgroup v1 limit, and its huge "unlimited" value as no limit', () => {
    expect(cgroupMemoryLimit(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '1073741824' }))).toBe(1073741824);
    expect(cgroupMemoryLimit(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' }))).toBeUndefined();
  });

  test('uses the setting when one is given, whatever the cgroup says', () => {
    expect(receiveBudgetBytes(5000, files({ '/sys/fs/cgroup/memory.max': '2147483648' }))).toEqual({ bytes: 5000, source: 'setting' });
  });

  test('falls back to the fixed default without any cgroup file', () => {
    expect(receiveBudgetBytes(undefined, files({}))).toEqual({ bytes: FALLBACK_BUDGET_BYTES, source: 'default' });
  });
});
