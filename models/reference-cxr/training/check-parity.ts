// Runs the exported graphs in onnxruntime-node on the tensors export.py saved, and compares with
// PyTorch's outputs. Exits non-zero if any value differs by more than 1e-4.
//   tsx check-parity.ts <model dir> <parity dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const [modelDir, dir] = process.argv.slice(2);
if (!modelDir || !dir) throw new Error('usage: check-parity.ts <model dir> <parity dir>');
const shapes = JSON.parse(readFileSync(join(dir, 'shapes.json'), 'utf8')) as { n: number; size: number; hidden: number; cond: number; vocab: number };
const f32 = (name: string): Float32Array => {
  const b = readFileSync(join(dir, `${name}.f32`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const maxDiff = (a: Float32Array, b: Float32Array): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const { n, size, hidden, cond } = shapes;
const vision = await ort.InferenceSession.create(join(modelDir, 'vision.onnx'));
const vo = await vision.run({ image: new ort.Tensor('float32', f32('image'), [n, 1, size, size]) });
const decoder = await ort.InferenceSession.create(join(modelDir, 'decoder.onnx'));
const tb = readFileSync(join(dir, 'token.i64'));
const tokens = new BigInt64Array(tb.buffer.slice(tb.byteOffset, tb.byteOffset + tb.length));
const dout = await decoder.run({
  token: new ort.Tensor('int64', tokens, [n]),
  hidden: new ort.Tensor('float32', f32('hidden'), [n, hidden]),
  conditioning: new ort.Tensor('float32', f32('conditioning'), [n, cond]),
});
const diffs = {
  logits: maxDiff(vo.logits!.data as Float32Array, f32('logits')),
  heatmaps: maxDiff(vo.heatmaps!.data as Float32Array, f32('heatmaps')),
  conditioning: maxDiff(vo.conditioning!.data as Float32Array, f32('conditioning')),
  decoderLogits: maxDiff(dout.logits!.data as Float32Array, f32('dec_logits')),
  decoderHidden: maxDiff(dout.hidden_out!.data as Float32Array, f32('dec_hidden')),
};
console.log('onnxruntime-node vs PyTorch, max |diff|:', diffs);
if (Object.values(diffs).some((d) => !(d <= 1e-4))) process.exit(1);
