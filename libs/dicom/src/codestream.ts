/**
 * Read the image size a compressed frame declares, before handing it to a decoder.
 *
 * The WASM decoders size their output from the codestream, not from the DICOM header: a fuzzed
 * 9.8 KB JPEG decoded to 126 MB here. Checking the codestream's rows, columns and components
 * against the Image Pixel module first bounds memory by what the header promised (which we have
 * already limited) and turns a mismatched frame into a clear error instead of a wrong image.
 */

export interface CodestreamGeometry {
  rows: number;
  columns: number;
  components: number;
  precision: number;
}

/** SOF markers of JPEG (ITU T.81) — all but DHT (C4), JPG (C8) and DAC (CC) — plus JPEG-LS SOF55 (F7). */
function isStartOfFrame(marker: number): boolean {
  return (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
}

/** Geometry from the first SOF segment of a JPEG or JPEG-LS stream, or undefined if none before SOS. */
export function readJpegGeometry(bytes: Uint8Array): CodestreamGeometry | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let position = 2;
  while (position + 4 <= bytes.length) {
    if (bytes[position] !== 0xff) return undefined;
    const marker = bytes[position + 1]!;
    if (marker === 0xff) {
      position++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      position += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // start of scan / end of image
    const length = (bytes[position + 2]! << 8) | bytes[position + 3]!;
    if (length < 2 || position + 2 + length > bytes.length) return undefined;
    if (isStartOfFrame(marker)) {
      if (length < 8) return undefined;
      const at = position + 4;
      return {
        precision: bytes[at]!,
        rows: (bytes[at + 1]! << 8) | bytes[at + 2]!,
        columns: (bytes[at + 3]! << 8) | bytes[at + 4]!,
        components: bytes[at + 5]!,
      };
    }
    position += 2 + length;
  }
  return undefined;
}

/** Geometry from the SIZ segment of a JPEG 2000 / HTJ2K codestream (raw, or wrapped in a JP2 file). */
export function readJpeg2000Geometry(bytes: Uint8Array): CodestreamGeometry | undefined {
  // The codestream starts with SOC (FF4F) then SIZ (FF51); in a JP2 file it sits in a jp2c box.
  const limit = Math.min(bytes.length - 42, 4096);
  for (let at = 0; at <= limit; at++) {
    if (bytes[at] === 0xff && bytes[at + 1] === 0x4f && bytes[at + 2] === 0xff && bytes[at + 3] === 0x51) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at + 4);
      const xsiz = view.getUint32(4);
      const ysiz = view.getUint32(8);
      const xosiz = view.getUint32(12);
      const yosiz = view.getUint32(16);
      const components = view.getUint16(36);
      if (xosiz > xsiz || yosiz > ysiz) return undefined;
      // Ssiz of the first component: bit depth - 1 in the low 7 bits.
      const precision = at + 4 + 39 <= bytes.length - 1 ? (bytes[at + 4 + 38]! & 0x7f) + 1 : 0;
      return { columns: xsiz - xosiz, rows: ysiz - yosiz, components, precision };
    }
  }
  return undefined;
}

/**
 * Check an RLE frame header (PS3.5 Annex G): 15 offsets, the segment count matching samples ×
 * bytes per sample, offsets increasing and inside the frame. Returns a reason when it is wrong.
 */
export function checkRleHeader(bytes: Uint8Array, expectedSegments: number): string | undefined {
  if (bytes.length < 64) return 'RLE frame is shorter than its 64-byte header';
  const view = new DataView(bytes.buffer, bytes.byteOffset, 64);
  const segments = view.getUint32(0, true);
  if (segments !== expectedSegments) return `RLE header declares ${segments} segments, expected ${expectedSegments}`;
  let previous = 63;
  for (let i = 0; i < segments; i++) {
    const offset = view.getUint32(4 + 4 * i, true);
    if (offset <= previous || offset >= bytes.length) return `RLE segment ${i + 1} offset is out of order or past the frame`;
    previous = offset;
  }
  return undefined;
}
