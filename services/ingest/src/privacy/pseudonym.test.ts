import { describe, expect, test } from 'vitest';
import { pseudonymKeySchema } from '@cxr/contracts';
import { isValidUid } from '@cxr/dicom';
import { Pseudonymizer } from './pseudonym.ts';

describe('Pseudonymizer', () => {
  test('gives the same study the same key, and other studies or secrets other keys', () => {
    const a = new Pseudonymizer('secret-one-sixteen');
    const b = new Pseudonymizer('secret-two-sixteen');
    expect(a.studyKey('1.2.3')).toBe(a.studyKey('1.2.3'));
    expect(a.studyKey('1.2.3')).not.toBe(a.studyKey('1.2.4'));
    expect(a.studyKey('1.2.3')).not.toBe(b.studyKey('1.2.3'));
    expect(a.studyKey('1.2.3')).not.toBe(a.instanceKey('1.2.3'));
  });

  test('makes keys that satisfy the contract and do not contain the UID', () => {
    const key = new Pseudonymizer('secret-one-sixteen').studyKey('1.2.840.113619.2.55');
    expect(pseudonymKeySchema.safeParse(key).success).toBe(true);
    expect(key).not.toContain('113619');
  });

  const p = new Pseudonymizer('a-test-secret-of-some-length');

  test('keys a patient by Patient ID and issuer, so the same ID from another issuer is another patient', () => {
    expect(p.patientKey('12345', 'HOSP-A')).toBe(p.patientKey(' 12345 ', 'HOSP-A'));
    expect(p.patientKey('12345', 'HOSP-A')).not.toBe(p.patientKey('12345', 'HOSP-B'));
    expect(p.patientKey('12345', undefined)).toBe(p.patientKey('12345', ''));
    expect(p.patientKey('12345', 'HOSP-A')).not.toBe(p.studyKey('12345'));
    expect(pseudonymKeySchema.safeParse(p.patientKey('12345', 'HOSP-A')).success).toBe(true);
  });

  test('gives no patient key to a study without a Patient ID', () => {
    expect(p.patientKey('', 'HOSP-A')).toBeUndefined();
    expect(p.patientKey(undefined, undefined)).toBeUndefined();
  });

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
