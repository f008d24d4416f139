/**
 * Worker side of IsolatedFrameDecoder: parse the file and decode one frame, off the main thread.
 * Loaded through a small bootstrap that registers tsx (see isolated-frame-decoder.ts).
 */
import { parentPort } from 'node:worker_threads';
import { DicomError, UnsupportedTransferSyntaxError } from './errors.ts';
import { parseInstance } from './parse.ts';
import { decodeFrameAsync } from './pixel-data.ts';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  frameIndex: number;
  maxBytes?: number;
}

export type DecodeReply =
  | { id: number; ok: true; frame: Awaited<ReturnType<typeof decodeFrameAsync>> }
  | { id: number; ok: false; error: { name: string; reason?: string; message: string; transferSyntaxUid?: string } };

parentPort?.on('message', (request: DecodeRequest) => {
  void handle(request);
});

async function handle({ id, bytes, frameIndex, maxBytes }: DecodeRequest): Promise<void> {
  let reply: DecodeReply;
  try {
    const instance = parseInstance(bytes, maxBytes === undefined ? {} : { maxBytes });
    const frame = await decodeFrameAsync(instance, frameIndex);
    reply = { id, ok: true, frame };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = {
      id,
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        reason: error instanceof DicomError ? error.reason : undefined,
        transferSyntaxUid: error instanceof UnsupportedTransferSyntaxError ? error.transferSyntaxUid : undefined,
      },
    };
  }
  const transfer = reply.ok ? [reply.frame.data.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(reply, transfer);
}
