import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { ANALYSIS_INPUT_LONG_SIDE, ANALYSIS_INPUT_RESIZE_KERNEL, analysisInputSize } from '@cxr/contracts';
import { preprocess } from '@cxr/inference';
import { referenceModelDir as REFERENCE_MODEL_DIR } from './index.ts';

describe("the reference model's input", () => {
  test("gives the reference model the tensor of the full-size image when handed ingest's default analysis input", async () => {
    // Ingest resizes the analysis input from full resolution with ANALYSIS_INPUT_RESIZE_KERNEL to a
    // long side of ANALYSIS_INPUT_LONG_SIDE; for the reference model, the letterbox of the full image
    // must come out the same (docs/model-package.md).
    const { input } = JSON.parse(readFileSync(join(REFERENCE_MODEL_DIR, 'manifest.json'), 'utf8'));
    const reference = { size: input.size, kernel: input.resize.kernel, epsilon: input.normalisation.epsilon };
    expect(ANALYSIS_INPUT_LONG_SIDE).toBe(reference.size);
    const w = 1024;
    const h = 1229;
    const data = new Uint16Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = 20000 + 15000 * Math.sin(x / 37) * Math.cos(y / 53) + ((x * 7919 + y * 104729) % 4000);
    const size = analysisInputSize(w, h);
    const small = await sharp(data, { raw: { width: w, height: h, channels: 1 } })
      .resize(size.width, size.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const fromFull = await preprocess({ width: w, height: h, data }, reference);
    const fromInput = await preprocess({ ...size, data: new Uint16Array(small.buffer, small.byteOffset, small.length / 2) }, reference);
    expect(fromInput.box).toEqual(fromFull.box);
    let max = 0;
    for (let i = 0; i < fromFull.tensor.length; i++) max = Math.max(max, Math.abs(fromFull.tensor[i]! - fromInput.tensor[i]!));
    expect(max).toBe(0);
  });
});
