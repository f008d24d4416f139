// onnxruntime-node (the runtime the worker uses) against PyTorch: the Python side leaves the inputs it
// ran and PyTorch's outputs in <package>/.parity/; this runs the exported graph on the same inputs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export interface ParityResult {
  images: number;
  /** Per output: 1e-4 for the logits; 1e-4 × max(1, largest |value|) for the feature map (import_model.py says why). */
  tolerance: Record<string, number>;
  /** max |onnxruntime-node − PyTorch| per output. */
  maxAbsDiff: Record<string, number>;
  pass: boolean;
}

async function readF32(path: string): Promise<Float32Array> {
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN counts as a failure
  }
  return m;
}

/** `graph` is the ONNX file; shapes.json names its one float32 input; `outputs` the names PyTorch's outputs were saved under (`<name>.f32`). */
export async function checkParity(graph: string, parityDir: string, outputs: string[]): Promise<ParityResult> {
  const shapes = JSON.parse(await readFile(join(parityDir, 'shapes.json'), 'utf8')) as { input: { name: string; file: string; shape: number[] }; tolerances: Record<string, number> };
  const input = shapes.input;
  const session = await ort.InferenceSession.create(graph, { executionProviders: ['cpu'] });
  try {
    const result = await session.run({ [input.name]: new ort.Tensor('float32', await readF32(join(parityDir, input.file)), input.shape) });
    const diffs: Record<string, number> = {};
    for (const name of outputs) {
      const got = result[name];
      diffs[name] = got ? maxAbsDiff(got.data as Float32Array, await readF32(join(parityDir, `${name}.f32`))) : Infinity;
    }
    const tolerance = Object.fromEntries(outputs.map((name) => [name, shapes.tolerances[name] ?? 0]));
    return { images: input.shape[0]!, tolerance, maxAbsDiff: diffs, pass: outputs.every((name) => diffs[name]! <= tolerance[name]!) };
  } finally {
    await session.release();
  }
}
