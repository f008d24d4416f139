// A minimal ONNX writer for tests: encodes a ModelProto (protobuf, by hand) with float32
// initialisers and plain nodes, so tests build the tiny graphs they need without Python or a
// downloaded model. Only the fields the tests use are written (onnx.proto field numbers).

type Bytes = number[];

function varint(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}
const key = (field: number, wire: number): Bytes => varint((field << 3) | wire);
const int = (field: number, value: number): Bytes => [...key(field, 0), ...varint(value)];
const bytes = (field: number, value: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(value.length), ...value];
const str = (field: number, value: string): Bytes => bytes(field, [...new TextEncoder().encode(value)]);
const float = (field: number, value: number): Bytes => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return [...key(field, 5), ...b];
};

export type Attribute = { name: string; int: number } | { name: string; ints: number[] } | { name: string; float: number };
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}
export interface OnnxValue {
  name: string;
  /** Numbers are fixed dimensions, strings symbolic ones ("N"). */
  shape: (number | string)[];
  /** Element type, float32 unless given. */
  type?: 'float32' | 'int64';
}
export interface OnnxGraph {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers: { name: string; dims: number[]; data: Float32Array }[];
  nodes: OnnxNode[];
  opset?: number;
}

function attribute(a: Attribute): Bytes {
  if ('int' in a) return [...str(1, a.name), ...int(3, a.int), ...int(20, 2)];
  if ('ints' in a) return [...str(1, a.name), ...a.ints.flatMap((i) => int(8, i)), ...int(20, 7)];
  return [...str(1, a.name), ...float(2, a.float), ...int(20, 1)];
}

function valueInfo(v: OnnxValue): Bytes {
  const dims = v.shape.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, v.type === 'int64' ? 7 /* INT64 */ : 1 /* FLOAT */), ...bytes(2, dims)];
  return [...str(1, v.name), ...bytes(2, bytes(1, tensorType))];
}

/** The serialised model (ir_version 8, default-domain opset 13 unless given). */
export function encodeOnnx(graph: OnnxGraph): Uint8Array {
  const nodes = graph.nodes.flatMap((n, i) =>
    bytes(1, [...n.inputs.flatMap((x) => str(1, x)), ...n.outputs.flatMap((x) => str(2, x)), ...str(3, `n${i}`), ...str(4, n.op), ...(n.attributes ?? []).flatMap((a) => bytes(5, attribute(a)))]),
  );
  const inits = graph.initializers.flatMap((t) =>
    bytes(5, [...t.dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, t.name), ...bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]),
  );
  const g = [...nodes, ...str(2, 'tiny'), ...inits, ...graph.inputs.flatMap((v) => bytes(11, valueInfo(v))), ...graph.outputs.flatMap((v) => bytes(12, valueInfo(v)))];
  const model = [...int(1, 8), ...str(2, 'cxr-tests'), ...bytes(7, g), ...bytes(8, [...str(1, ''), ...int(2, graph.opset ?? 13)])];
  return new Uint8Array(model);
}
