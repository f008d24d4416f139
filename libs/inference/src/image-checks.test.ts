import { describe, expect, test } from 'vitest';
import { checkImage } from './image-checks.ts';

const image = (width: number, height: number, value: (i: number) => number) => ({ width, height, data: Uint16Array.from({ length: width * height }, (_, i) => value(i)) });
const textured = (i: number) => Math.round(30_000 + 20_000 * Math.sin(i / 37) * Math.cos(i / 1013));

describe('checkImage', () => {
  test('passes a textured image of a readable size', () => {
    expect(checkImage(image(300, 300, textured), { minImageSize: 256 })).toBeNull();
  });

  test('refuses a uniform image as blank', () => {
    expect(checkImage(image(300, 300, () => 12_345), { minImageSize: 256 })).toMatchObject({ check: 'blank', reason: expect.stringMatching(/blank/) });
  });

  test('refuses an image mostly at full brightness as saturated', () => {
    expect(checkImage(image(300, 300, (i) => (i % 10 < 7 ? 65535 : textured(i))), { minImageSize: 256 })).toMatchObject({ check: 'saturated', reason: expect.stringMatching(/70% of its pixels/) });
  });

  test('judges the size on the image as acquired, not on its downsized copy', () => {
    const small = image(128, 160, textured);
    expect(checkImage(small, { minImageSize: 256 })).toMatchObject({ check: 'too-small', reason: expect.stringMatching(/128x160 pixels/) });
    expect(checkImage(small, { minImageSize: 256, sourceSize: { width: 2048, height: 2560 } })).toBeNull();
  });
});
