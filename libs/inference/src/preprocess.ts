// Turns a presentation image (grey16, bright = dense) into the model's input tensor, exactly as
// the manifest's `input` section says: letterbox-resize with sharp (aspect kept, centred, padded
// with raw 0 = black), then per-image z-score using the mean and standard deviation of the image
// content only (padding excluded), so that window/level and bit depth do not matter.
// The same function builds the training set (models/reference-cxr/training/make-dataset.ts), so
// training and inference see identical tensors.
import sharp from 'sharp';

export interface PresentationImage {
  width: number;
  height: number;
  /** Row-major grey16, bright = dense (MONOCHROME1 already inverted, VOI already applied). */
  data: Uint16Array;
  /** The size of the image as acquired, when `data` is a downsized copy (the scope's size check uses it). */
  source?: { width: number; height: number } | undefined;
}

export interface InputSpec {
  size: number;
  /** sharp resize kernel used for the letterbox resize. */
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /** z-score floor on the standard deviation. */
  epsilon: number;
}

/** Where the image content lies inside the square model input, in input pixels. */
export interface ContentBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Preprocessed {
  /** size*size float32, already normalised. */
  tensor: Float32Array;
  box: ContentBox;
}

export function letterboxBox(width: number, height: number, size: number): ContentBox {
  const scale = Math.min(size / width, size / height);
  const w = Math.max(1, Math.min(size, Math.round(width * scale)));
  const h = Math.max(1, Math.min(size, Math.round(height * scale)));
  return { x: Math.floor((size - w) / 2), y: Math.floor((size - h) / 2), width: w, height: h };
}

export function validateImage(image: PresentationImage): void {
  if (!(image.data instanceof Uint16Array)) throw new TypeError('PresentationImage.data must be a Uint16Array');
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1)
    throw new RangeError(`invalid image size ${image.width}x${image.height}`);
  if (image.data.length !== image.width * image.height)
    throw new RangeError(`image data has ${image.data.length} values, expected ${image.width}x${image.height}`);
}

/**
 * Preprocesses one image into `out` (a view of `size*size` floats, e.g. a slice of the batch
 * tensor) so a batch is built without intermediate copies.
 */
export async function preprocessInto(image: PresentationImage, spec: InputSpec, out: Float32Array): Promise<ContentBox> {
  validateImage(image);
  const { size } = spec;
  if (out.length !== size * size) throw new RangeError(`output view has ${out.length} floats, expected ${size * size}`);
  const box = letterboxBox(image.width, image.height, size);
  let resized: Uint16Array;
  if (box.width === image.width && box.height === image.height) {
    resized = image.data;
  } else {
    const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
      .resize(box.width, box.height, { fit: 'fill', kernel: spec.kernel })
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer();
    resized = new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  }
  let sum = 0;
  let sum2 = 0;
  const n = box.width * box.height;
  for (let i = 0; i < n; i++) {
    const v = resized[i]! / 65535;
    sum += v;
    sum2 += v * v;
  }
  const mean = sum / n;
  const std = Math.max(Math.sqrt(Math.max(sum2 / n - mean * mean, 0)), spec.epsilon);
  const inv = 1 / std;
  out.fill(-mean * inv); // padding: raw 0 normalised like the content
  for (let y = 0; y < box.height; y++) {
    const row = (box.y + y) * size + box.x;
    const src = y * box.width;
    for (let x = 0; x < box.width; x++) out[row + x] = (resized[src + x]! / 65535 - mean) * inv;
  }
  return box;
}

export async function preprocess(image: PresentationImage, spec: InputSpec): Promise<Preprocessed> {
  const tensor = new Float32Array(spec.size * spec.size);
  const box = await preprocessInto(image, spec, tensor);
  return { tensor, box };
}

// ---------------------------------------------------------------------------------------------
// Format v2 preprocessing: letterbox, centre crop or stretch; zscore-content, linear range or
// per-channel mean/std; 1 channel or the grey image replicated into 3.

export type ResizeKernel = InputSpec['kernel'];

export type ResizeSpec =
  | { method: 'letterbox'; kernel: ResizeKernel; padValue: number }
  | { method: 'center-crop'; kernel: ResizeKernel }
  | { method: 'stretch'; kernel: ResizeKernel };

export type NormalisationSpec =
  | { method: 'zscore-content'; epsilon: number }
  | { method: 'linear-range'; from: readonly [number, number]; to: readonly [number, number] }
  | { method: 'mean-std'; mean: readonly number[]; std: readonly number[] };

export interface PreprocessingSpec {
  size: number;
  channels: 1 | 3;
  resize: ResizeSpec;
  normalisation: NormalisationSpec;
}

/**
 * Where the whole image lies in input pixels after the resize: inside the padding (letterbox),
 * overhanging the input on its long axis (centre crop: negative offset, larger than the input), or
 * exactly the input (stretch). Heatmaps map back to the image through this box.
 */
export function placementBox(method: ResizeSpec['method'], width: number, height: number, size: number): ContentBox {
  if (method === 'letterbox') return letterboxBox(width, height, size);
  if (method === 'stretch') return { x: 0, y: 0, width: size, height: size };
  const scale = Math.max(size / width, size / height);
  const w = Math.max(size, Math.round(width * scale));
  const h = Math.max(size, Math.round(height * scale));
  return { x: Math.floor((size - w) / 2), y: Math.floor((size - h) / 2), width: w, height: h };
}

/** Input pixel (x, y) → normalised image coordinates (0..1), through the placement box. */
export function inputToImage(box: ContentBox, x: number, y: number): { x: number; y: number } {
  return { x: (x - box.x) / box.width, y: (y - box.y) / box.height };
}

/** Normalised image coordinates (0..1) → input pixels, through the placement box. */
export function imageToInput(box: ContentBox, x: number, y: number): { x: number; y: number } {
  return { x: box.x + x * box.width, y: box.y + y * box.height };
}

/**
 * Preprocesses one image into `out` (`channels*size*size` floats, NCHW for one image) as a v2
 * manifest's `input` says; returns the placement box.
 */
export async function preprocessV2Into(image: PresentationImage, spec: PreprocessingSpec, out: Float32Array): Promise<ContentBox> {
  validateImage(image);
  const { size, channels } = spec;
  const plane = size * size;
  if (out.length !== channels * plane) throw new RangeError(`output view has ${out.length} floats, expected ${channels * plane}`);
  const norm = spec.normalisation;
  if (norm.method === 'mean-std' && (norm.mean.length !== channels || norm.std.length !== channels))
    throw new RangeError(`mean-std needs ${channels} mean and std values`);
  const box = placementBox(spec.resize.method, image.width, image.height, size);
  let resized: Uint16Array;
  if (box.width === image.width && box.height === image.height) {
    resized = image.data;
  } else {
    const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
      .resize(box.width, box.height, { fit: 'fill', kernel: spec.resize.kernel })
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer();
    resized = new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  }
  // The visible window of the resized image, in input pixels.
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(size, box.x + box.width);
  const y1 = Math.min(size, box.y + box.height);
  const pad = spec.resize.method === 'letterbox' ? spec.resize.padValue / 65535 : 0;
  // v = raw/65535 of the input, padding included (in double precision, as v1's preprocessInto).
  const v = new Float64Array(plane).fill(pad);
  let sum = 0;
  let sum2 = 0;
  for (let y = y0; y < y1; y++) {
    const src = (y - box.y) * box.width - box.x;
    const row = y * size;
    for (let x = x0; x < x1; x++) {
      const value = resized[src + x]! / 65535;
      v[row + x] = value;
      sum += value;
      sum2 += value * value;
    }
  }
  if (norm.method === 'zscore-content') {
    const n = (x1 - x0) * (y1 - y0);
    const mean = sum / n;
    const inv = 1 / Math.max(Math.sqrt(Math.max(sum2 / n - mean * mean, 0)), norm.epsilon);
    for (let i = 0; i < plane; i++) out[i] = (v[i]! - mean) * inv;
    for (let c = 1; c < channels; c++) out.copyWithin(c * plane, 0, plane);
  } else if (norm.method === 'linear-range') {
    const [a, b] = norm.from;
    const [c0, d] = norm.to;
    const k = (d - c0) / (b - a);
    for (let i = 0; i < plane; i++) out[i] = c0 + (v[i]! - a) * k;
    for (let c = 1; c < channels; c++) out.copyWithin(c * plane, 0, plane);
  } else {
    for (let c = 0; c < channels; c++) {
      const mean = norm.mean[c]!;
      const inv = 1 / norm.std[c]!;
      const dst = out.subarray(c * plane, (c + 1) * plane);
      for (let i = 0; i < plane; i++) dst[i] = (v[i]! - mean) * inv;
    }
  }
  return box;
}
