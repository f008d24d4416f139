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
