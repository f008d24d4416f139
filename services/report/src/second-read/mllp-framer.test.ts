import { describe, expect, test } from 'vitest';
import { frameMllp, MllpFramer } from './mllp-server.ts';

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

describe('the MLLP framer', () => {
  test('finds one message per <VT>...<FS><CR> frame, however the stream is cut', () => {
    const stream = Buffer.concat([frameMllp('MSH|first'), frameMllp('MSH|second')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new MllpFramer(1024);
      const a = framer.push(stream.subarray(0, cut));
      const b = framer.push(stream.subarray(cut));
      expect(a).not.toBe('too-large');
      expect(b).not.toBe('too-large');
      expect([...(a as Buffer[]), ...(b as Buffer[])].map(String)).toEqual(['MSH|first', 'MSH|second']);
    }
  });

  test('skips bytes between frames and tolerates a missing CR after FS', () => {
    const framer = new MllpFramer(1024);
    const found = framer.push(Buffer.from([0x0a, 0x20, VT, 0x41, FS, VT, 0x42, FS, CR]));
    expect((found as Buffer[]).map(String)).toEqual(['A', 'B']);
  });

  test('refuses a message longer than the bound as soon as it is known, before it ends', () => {
    const framer = new MllpFramer(16);
    expect(framer.push(Buffer.from([VT, ...Buffer.from('0123456789')]))).toEqual([]);
    expect(framer.push(Buffer.from('0123456789'))).toBe('too-large');
  });

  test('counts junk outside any frame against the same bound', () => {
    const framer = new MllpFramer(16);
    expect(framer.push(Buffer.alloc(17, 0x41))).toBe('too-large');
  });

  test('a message of exactly the bound is taken', () => {
    const framer = new MllpFramer(4);
    expect((framer.push(frameMllp('ABCD')) as Buffer[]).map(String)).toEqual(['ABCD']);
  });
});
