import { describe, expect, test } from 'vitest';
import { isValidUid } from '@cxr/dicom';
import { Pseudonymizer } from './pseudonym.ts';

describe('Pseudonymizer', () => {
  const p = new Pseudonymizer('a-test-secret-of-some-length');

  test('replaces a UID with a valid 2.25 UID, the same every time, different per UID and per secret', () => {
    const uid = '1.2.840.113619.2.55.3.604688119.969.1268071029.320';
    const replaced = p.dicomUid(uid);
    expect(replaced).toMatch(/^2\.25\.[1-9]\d*$/);
    expect(isValidUid(replaced)).toBe(true);
    expect(replaced.length).toBeLessThanOrEqual(64);
    expect(p.dicomUid(uid)).toBe(replaced);
    expect(p.dicomUid(`${uid}1`)).not.toBe(replaced);
    expect(new Pseudonymizer('another-secret-of-some-length').dicomUid(uid)).not.toBe(replaced);
  });

  test('keys of studies, instances and UIDs never coincide for the same input', () => {
    const uid = '1.2.3.4';
    expect(new Set([p.studyKey(uid), p.instanceKey(uid), p.key('uid', uid)]).size).toBe(3);
  });
});
