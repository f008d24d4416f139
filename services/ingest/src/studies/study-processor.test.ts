import { describe, expect, test } from 'vitest';
import { studyCompletedAt } from './study-processor.ts';
import type { InstanceRecord } from './study-registry.ts';

const record = (receivedAt: string) => ({ receivedAt }) as InstanceRecord;

describe('when a study was complete at ingest', () => {
  test('is when the last of its instances was stored, whatever order the index lists them in', () => {
    const instances = [record('2026-11-22T10:00:01.500Z'), record('2026-11-22T10:00:03.250Z'), record('2026-11-22T10:00:02.000Z')];
    expect(studyCompletedAt(instances)).toBe('2026-11-22T10:00:03.250Z');
  });

  test('compares times, not strings, across time zone offsets', () => {
    expect(studyCompletedAt([record('2026-11-22T11:00:00.000+01:00'), record('2026-11-22T10:00:00.500Z')])).toBe('2026-11-22T10:00:00.500Z');
  });

  test('is unknown for a study without instances', () => {
    expect(studyCompletedAt([])).toBeUndefined();
  });
});
