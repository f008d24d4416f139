// Image perturbations for the robustness check: display-chain and acquisition changes that a
// model should shrug off. Each maps a presentation image to a new one, deterministically.
import type { PresentationImage } from '@cxr/inference';
import { createRng } from '@cxr/phantom';

export interface Perturbation {
  name: string;
  description: string;
  apply(image: PresentationImage, seed: number): PresentationImage;
}

const mapValues = (image: PresentationImage, f: (v: number, i: number) => number): PresentationImage => {
  const data = new Uint16Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(65535, Math.round(f(image.data[i]! / 65535, i) * 65535)));
  return { width: image.width, height: image.height, data };
};

export const PERTURBATIONS: Perturbation[] = [
  { name: 'gamma-0.7', description: 'display gamma 0.7', apply: (im) => mapValues(im, (v) => Math.pow(v, 0.7)) },
  { name: 'gamma-1.4', description: 'display gamma 1.4', apply: (im) => mapValues(im, (v) => Math.pow(v, 1.4)) },
  {
    name: 'noise-2pc',
    description: 'added Gaussian noise, sigma 2% of full scale',
    apply: (im, seed) => {
      const rng = createRng(seed);
      return mapValues(im, (v) => v + 0.02 * rng.normal());
    },
  },
  {
    name: 'narrow-window',
    description: 'window narrowed to the 5th–95th percentile of the image (clipped and stretched)',
    apply: (im) => {
      const sorted = Uint16Array.from(im.data).sort();
      const lo = sorted[Math.floor(sorted.length * 0.05)]! / 65535;
      const hi = sorted[Math.floor(sorted.length * 0.95)]! / 65535;
      return mapValues(im, (v) => (v - lo) / Math.max(hi - lo, 1e-3));
    },
  },
  {
    name: 'half-resolution',
    description: '2x2 block average (detail lost), same size',
    apply: (im) => {
      const { width: w, height: h } = im;
      const data = new Uint16Array(w * h);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const x0 = x & ~1;
          const y0 = y & ~1;
          const x1 = Math.min(w - 1, x0 + 1);
          const y1 = Math.min(h - 1, y0 + 1);
          data[y * w + x] = Math.round((im.data[y0 * w + x0]! + im.data[y0 * w + x1]! + im.data[y1 * w + x0]! + im.data[y1 * w + x1]!) / 4);
        }
      return { width: w, height: h, data };
    },
  },
];
