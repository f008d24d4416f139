import { expect, test } from 'vitest';
import { ACCESSION_KEY_PATTERN, accessionKeyOf } from './accession-key.ts';

test('an accession number becomes the same 64-hex-digit key whatever surrounding spaces it is sent with, and shows nowhere in it', () => {
  const key = accessionKeyOf('ACC0042');
  expect(key).toMatch(ACCESSION_KEY_PATTERN);
  expect(accessionKeyOf(' ACC0042 ')).toBe(key);
  expect(accessionKeyOf('ACC0043')).not.toBe(key);
  expect(key).not.toContain('0042');
});
