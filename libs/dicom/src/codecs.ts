/**
 * dcmjs-codecs' WebAssembly frame decoders, initialised lazily and re-initialised after a failure.
 *
 * Why re-initialise: the decoders report errors by throwing a JS exception through the WASM stack
 * (libjpeg's error_exit, OpenJPEG) or by trapping ('unreachable' from CharLS). Either way the
 * module's C stack pointer and heap are left as they were mid-decode. Measured here: after a few
 * dozen such failures the module hung for minutes on an input that a fresh module refused in 10 ms,
 * and after one "memory access out of bounds" every later call failed, valid frames included.
 * So the first failure marks the module poisoned; the next `initializeCodecs()` releases it and
 * instantiates a fresh one (~30-40 ms).
 *
 * Never use dcmjs-codecs' whole-file Transcoder on untrusted input (see environment notes).
 */
import dcmjsCodecs from 'dcmjs-codecs';

const { NativeCodecs, Context } = dcmjsCodecs;

let initializing: Promise<void> | undefined;
let poisoned = false;

/** Thrown when a compressed frame is decoded before `initializeCodecs()` has completed. */
export class CodecsNotReadyError extends Error {
  override name = 'CodecsNotReadyError';
  /** Not the input's fault: call `initializeCodecs()` (or use `decodeFrameAsync`) and retry. */
  readonly permanent = false;
  constructor() {
    super('pixel codecs are not initialised: await initializeCodecs() first, or use decodeFrameAsync()');
  }
}

/** Load (or, after a decoder failure, reload) the WASM codecs. Safe to call often. */
export async function initializeCodecs(): Promise<void> {
  if (poisoned) {
    poisoned = false;
    initializing = undefined;
    try {
      NativeCodecs.release();
    } catch {
      // A broken module may fail to release; a fresh instance replaces it either way.
    }
  }
  initializing ??= NativeCodecs.initializeAsync().catch((error: unknown) => {
    initializing = undefined;
    throw error;
  });
  return initializing;
}

/** Whether the codecs are loaded and not poisoned by an earlier failure. */
export function codecsReady(): boolean {
  return !poisoned && NativeCodecs.isInitialized();
}

export type CodecName = 'jpeg' | 'jpeg-ls' | 'jpeg2000' | 'htj2k' | 'rle';

export interface CodecFrame {
  columns: number;
  rows: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometricInterpretation: string;
}

export interface CodecOutput {
  /** A copy of the decoded bytes (little endian samples). */
  bytes: Uint8Array;
  photometricInterpretation: string | undefined;
  planarConfiguration: number | undefined;
}

/**
 * Decode one frame. Throws CodecsNotReadyError if not initialised; rethrows the decoder's own
 * error (after poisoning the module) so the caller can wrap it.
 */
export function decodeWithCodec(codec: CodecName, frame: CodecFrame, encoded: Uint8Array): CodecOutput {
  if (!codecsReady()) throw new CodecsNotReadyError();
  const context = new Context({
    width: frame.columns,
    height: frame.rows,
    bitsAllocated: frame.bitsAllocated,
    bitsStored: frame.bitsStored,
    samplesPerPixel: frame.samplesPerPixel,
    pixelRepresentation: frame.pixelRepresentation,
    planarConfiguration: frame.planarConfiguration,
    photometricInterpretation: frame.photometricInterpretation,
    encodedBuffer: encoded,
  });
  try {
    let decoded;
    switch (codec) {
      case 'jpeg':
        decoded = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: true });
        break;
      case 'jpeg-ls':
        decoded = NativeCodecs.decodeJpegLs(context);
        break;
      case 'jpeg2000':
        decoded = NativeCodecs.decodeJpeg2000(context);
        break;
      case 'htj2k':
        decoded = NativeCodecs.decodeHtJpeg2000(context);
        break;
      case 'rle':
        decoded = NativeCodecs.decodeRle(context);
        break;
    }
    const bytes = decoded.getDecodedBuffer();
    return {
      bytes: bytes ? new Uint8Array(bytes) : new Uint8Array(0),
      photometricInterpretation: decoded.getPhotometricInterpretation(),
      planarConfiguration: decoded.getPlanarConfiguration(),
    };
  } catch (error) {
    poisoned = true;
    throw error;
  }
}
