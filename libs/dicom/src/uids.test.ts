import { describe, expect, test } from 'vitest';
import { generateUid, isValidUid, IMPLEMENTATION_CLASS_UID, SopClass, TransferSyntax } from './uids.ts';

describe('UIDs', () => {
  test('generateUid makes distinct valid 2.25 UIDs', () => {
    const uids = new Set(Array.from({ length: 1000 }, generateUid));
    expect(uids.size).toBe(1000);
    for (const uid of uids) {
      expect(uid.startsWith('2.25.')).toBe(true);
      expect(isValidUid(uid)).toBe(true);
    }
  });

  test('the constants are frozen and valid', () => {
    expect(Object.isFrozen(TransferSyntax)).toBe(true);
    expect(Object.isFrozen(SopClass)).toBe(true);
    for (const uid of [...Object.values(TransferSyntax), ...Object.values(SopClass), IMPLEMENTATION_CLASS_UID]) {
      expect(isValidUid(uid)).toBe(true);
    }
  });

  test.each([
    ['1.2.840.10008.1.2', true],
    ['0.1', true],
    ['', false],
    ['1.2.', false],
    ['.1.2', false],
    ['1..2', false],
    ['1.02', false],
    ['1.2a', false],
    ['1.2 ', false],
    ['1.' + '2'.repeat(63), false],
    ['1.' + '2'.repeat(62), true],
  ])('isValidUid(%j) is %s', (uid, valid) => {
    expect(isValidUid(uid)).toBe(valid);
  });
});
