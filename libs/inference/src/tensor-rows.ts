// Picking batch rows out of an onnxruntime tensor: the in-scope images of a batch, and the beams
// that survive a beam-search step.
import * as ort from 'onnxruntime-node';

/** The given rows (first dimension, in the order given, repeats allowed) of a float32 tensor of any rank. */
export function tensorRows(tensor: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const per = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = tensor.data as Float32Array;
  const picked = new Float32Array(rows.length * per);
  rows.forEach((r, i) => picked.set(data.subarray(r * per, (r + 1) * per), i * per));
  return new ort.Tensor('float32', picked, [rows.length, ...tensor.dims.slice(1)]);
}
