// Heatmap encoding on the worker's hot path (reading the inputs is @cxr/inference's
// `readAnalysisInput` / `decodePresentationPng`, shared with the local evaluation). Heatmaps are tiny (about the model's 32×32 grid), so they are written as PNG
// here with zlib directly: a sharp pipeline costs ~1 ms per call whatever the size, 30× more.
import { crc32, deflateSync } from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/** A heatmap (values 0..1) as an 8-bit grey PNG (colour type 0, no filtering, zlib level 9). */
export function encodeHeatmapPng(heatmap: { width: number; height: number; data: Float32Array }): Buffer {
  const { width, height, data } = heatmap;
  const stride = width + 1; // each scanline starts with its filter type byte (0 = none)
  const scanlines = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) scanlines[y * stride + 1 + x] = Math.round(Math.min(1, Math.max(0, data[y * width + x]!)) * 255);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: grey
  // compression 0, filter method 0, interlace 0: the zero bytes already there
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanlines, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
