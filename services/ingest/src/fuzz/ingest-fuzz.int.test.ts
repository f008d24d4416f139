import { describe, expect, test } from 'vitest';
import { corpus } from '@cxr/test-corpus';
import { runFuzz } from './fuzz-run.ts';
import { loadFuzzSources, withIngestStack } from './fuzz-stack.ts';

/**
 * A seeded fuzz run through both receivers (a longer one: `npm run fuzz -- --count 20000`). The
 * seed is fixed so a failure replays; the CLI takes others.
 */
const SEED = 16;
const COUNT = 2000;

describe('ingest under mutated DICOM files', () => {
  test(`survives ${COUNT} mutated files by STOW-RS and DIMSE with no 5xx but 503, and reads back every instance it accepted`, async () => {
    const sources = loadFuzzSources(corpus().dir);
    const rssBefore = process.memoryUsage().rss;
    const report = await withIngestStack((target) => runFuzz({ seed: SEED, count: COUNT, sources, target }));
    expect(report.violations).toEqual([]);
    expect(report.stow.sent + report.dimse.sent).toBe(COUNT);
    // Both receivers took some and refused some: a run where every mutation is refused (or none is) tests little.
    for (const receiver of [report.stow, report.dimse]) {
      expect(receiver.accepted).toBeGreaterThan(0);
      expect(receiver.refused).toBeGreaterThan(0);
    }
    expect(report.readBack).toBe(report.stow.accepted + report.dimse.accepted);
    // Memory stays bounded: no mutation (a length of 4 GiB included) makes ingest allocate what it claims.
    expect(report.peakRssBytes - rssBefore).toBeLessThan(512 * 1024 * 1024);
  }, 180_000);
});
