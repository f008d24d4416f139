import { describe, expect, test } from 'vitest';
import { DimseStatusError } from './dimse-errors.ts';
import { storeFailureStatus } from './store-status.ts';

describe('C-STORE status for a failed onInstance', () => {
  test.each([
    ['a DimseStatusError with 0xA700', new DimseStatusError('redis down', 0xa700), 0xa700],
    ['a DimseStatusError with 0xA900', new DimseStatusError('wrong class', 0xa900), 0xa900],
    ['an Error carrying dimseStatus 0xC000', Object.assign(new Error('malformed'), { dimseStatus: 0xc000 }), 0xc000],
    ['a plain Error', new Error('boom'), 0xa700],
    ['an error claiming success', Object.assign(new Error('odd'), { dimseStatus: 0 }), 0xa700],
    ['an error claiming a warning', Object.assign(new Error('odd'), { dimseStatus: 0xb000 }), 0xa700],
    ['an error claiming pending', Object.assign(new Error('odd'), { dimseStatus: 0xff00 }), 0xa700],
    ['a status out of range', Object.assign(new Error('odd'), { dimseStatus: 0x1ffff }), 0xa700],
    ['a thrown string', 'nope', 0xa700],
  ])('answers %s with the right status', (_name, error, status) => {
    expect(storeFailureStatus(error)).toBe(status);
  });
});
