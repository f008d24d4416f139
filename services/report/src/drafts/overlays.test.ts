import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { HEAT_COLOUR_MAP } from './colour-map.ts';
import { COLD_CUTOFF, heatAlpha, legendPlacement, MAX_ALPHA, OverlayInputError, renderOverlay } from './overlays.ts';
import { greyPng, hotBoxHeatmap } from '../testing/fixtures.test-support.ts';

async function rgbPixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return {
    info,
    at(x: number, y: number): [number, number, number] {
      const o = (y * info.width + x) * info.channels;
      return [data[o]!, data[o + 1]!, data[o + 2]!];
    },
  };
}

// A 300x400 preview with a horizontal gradient, so "unchanged" is checked against varied grey.
const previewValue = (x: number, y: number) => (40 + x + (y % 7)) % 256;

describe('renderOverlay', () => {
  test('outputs an RGB PNG with the preview\'s width and height, whatever the heatmap\'s size', async () => {
    const preview = await greyPng(300, 400, previewValue);
    const heatmap = await hotBoxHeatmap(24, 32, { x0: 0.5, y0: 0.5, x1: 0.75, y1: 0.75 });
    const overlay = await renderOverlay(preview, heatmap);
    const meta = await sharp(overlay).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height, meta.channels, meta.hasAlpha]).toEqual([300, 400, 3, false]);
  });

  test('colours the region where the heatmap is hot and leaves the grey image unchanged where it is cold', async () => {
    const preview = await greyPng(300, 400, previewValue);
    // Hot in the box x 150..225, y 200..300 (in preview pixels).
    const heatmap = await hotBoxHeatmap(24, 32, { x0: 0.5, y0: 0.5, x1: 0.75, y1: 0.75 });
    const out = await rgbPixels(await renderOverlay(preview, heatmap));

    // Centre of the hot box: the map's hottest colour (dark red) blended over the grey.
    const [r, g, b] = out.at(187, 250);
    const grey = previewValue(187, 250);
    const alpha = MAX_ALPHA / 255;
    expect(r).toBeCloseTo(HEAT_COLOUR_MAP[255 * 3]! * alpha + grey * (1 - alpha), -1);
    expect(r).toBeGreaterThan(g + 40);
    expect(r).toBeGreaterThan(b + 40);

    // Far from the box (top-left quarter, clear of the legend): exactly the preview's grey.
    for (const [x, y] of [[10, 10], [100, 50], [40, 150], [140, 120]] as const) {
      const v = previewValue(x, y);
      expect(out.at(x, y)).toEqual([v, v, v]);
    }
  });

  test('draws a legend bar running from the cold colour to the hot colour in the bottom-right corner', async () => {
    const preview = await greyPng(300, 400, () => 128);
    const out = await rgbPixels(await renderOverlay(preview, await greyPng(8, 8, () => 0)));
    const place = legendPlacement(300, 400)!;
    expect(place.left + place.width).toBeLessThan(300);
    expect(place.top + place.height).toBeLessThan(400);
    const midY = place.top + Math.floor(place.height / 2);
    const low = out.at(place.left + 1, midY);
    const high = out.at(place.left + place.width - 2, midY);
    expect(low).toEqual([HEAT_COLOUR_MAP[0], HEAT_COLOUR_MAP[1], HEAT_COLOUR_MAP[2]]);
    expect(high).toEqual([HEAT_COLOUR_MAP[765], HEAT_COLOUR_MAP[766], HEAT_COLOUR_MAP[767]]);
  });

  test('leaves out the legend on an image too small to hold it', () => {
    expect(legendPlacement(12, 12)).toBeNull();
  });

  test('refuses a heatmap that is not an image', async () => {
    const preview = await greyPng(16, 16, () => 0);
    await expect(renderOverlay(preview, Buffer.from('not a png'))).rejects.toBeInstanceOf(OverlayInputError);
  });
});

describe('heatAlpha', () => {
  test.each([
    [0, 0],
    [COLD_CUTOFF, 0],
    [255, MAX_ALPHA],
  ])('maps heat %i to opacity %i', (heat, alpha) => {
    expect(heatAlpha(heat)).toBe(alpha);
  });

  test('rises with heat above the cut-off', () => {
    for (let h = COLD_CUTOFF + 1; h < 255; h++) expect(heatAlpha(h + 1)).toBeGreaterThanOrEqual(heatAlpha(h));
    expect(heatAlpha(200)).toBeGreaterThan(heatAlpha(100));
  });
});
