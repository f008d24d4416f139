import { describe, expect, test } from 'vitest';
import { pseudonymKeySchema } from '@cxr/contracts';
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
});
