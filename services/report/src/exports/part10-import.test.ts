import dcmjs from 'dcmjs';
import { expect, test } from 'vitest';
import { SopClass } from '@cxr/dicom';

// On its own file: the module must be imported here for the first time (vitest isolates files).
const logLevel = (): number => (dcmjs.log as unknown as { getLevel(): number }).getLevel();
const SILENT = 5;

test("importing part10 leaves dcmjs's process-wide logger alone; its first write silences it", async () => {
  const before = logLevel();
  expect(before).toBeLessThan(SILENT);
  const { writePart10 } = await import('./part10.ts');
  expect(logLevel()).toBe(before);
  writePart10({ SOPClassUID: SopClass.ComprehensiveSR, SOPInstanceUID: '2.25.1', Modality: 'SR' });
  expect(logLevel()).toBe(SILENT);
});
