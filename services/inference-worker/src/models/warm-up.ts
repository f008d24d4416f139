import type { ModelPackage, PresentationImage } from '@cxr/inference';

/**
 * A synthetic grey image larger than the model input (427×512, so the letterbox resize runs too):
 * a bright frame and a darker centre, enough to exercise every stage (resize, normalisation, vision
 * graph, text decode).
 */
function warmUpImage(): PresentationImage {
  const width = 427;
  const height = 512;
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x - width / 2) / width;
      const dy = (y - height / 2) / height;
      data[y * width + x] = Math.round(65535 * Math.min(1, 0.2 + 2 * (dx * dx + dy * dy)));
    }
  }
  return { width, height, data };
}

/**
 * Runs a dummy batch of `batchSize` images and then a single image through the model, so that the
 * first real jobs do not pay for onnxruntime's first-run allocations of either shape. Throws if the
 * model fails or returns the wrong number of analyses: such a model is not put into service.
 * Returns the time taken in ms.
 */
export async function warmUp(model: ModelPackage, batchSize: number): Promise<number> {
  const started = performance.now();
  const image = warmUpImage();
  for (const n of [...new Set([Math.max(1, batchSize), 1])]) {
    const analyses = await model.analyse(Array.from({ length: n }, () => image));
    if (analyses.length !== n) throw new Error(`warm-up: the model returned ${analyses.length} analyses for ${n} images`);
  }
  return performance.now() - started;
}
