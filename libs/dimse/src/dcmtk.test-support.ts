/**
 * Test support (not a test): runs DCMTK tools as real peers, reads Part 10 files, and a raw
 * socket SCU for what no well-behaved tool will do (garbage, oversized PDUs, dropping mid-store).
 */
import net from 'node:net';
import { freePort } from '@cxr/devstack';
import { runDcmtk, startDcmtk } from '@cxr/dcmtk';
import { PdvFlag, PduType } from './dimse-constants.ts';

export interface ToolResult {
  code: number | null;
  output: string;
}

/** Runs a DCMTK tool (Nagle off), collecting stdout+stderr; a failed run is a result, not an error. */
export async function runTool(command: string, args: string[], timeoutMs = 30_000): Promise<ToolResult> {
  const { code, output } = await runDcmtk(command, args, { timeoutMs, allowFailure: true });
  return { code, output };
}

/**
 * Offset of the data set in a file: after the Part 10 meta group (explicit VR LE, walked
 * element by element so a missing group length does not matter), or 0 without "DICM".
 */
export function dataSetOffset(file: Buffer): number {
  if (file.length < 132 || file.toString('latin1', 128, 132) !== 'DICM') return 0;
  let offset = 132;
  while (offset + 8 <= file.length && file.readUInt16LE(offset) === 0x0002) {
    const vr = file.toString('latin1', offset + 4, offset + 6);
    if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV'].includes(vr)) {
      offset += 12 + file.readUInt32LE(offset + 8);
    } else {
      offset += 8 + file.readUInt16LE(offset + 6);
    }
  }
  return offset;
}

/** Value of a UI element in the file's meta group, e.g. 0x0010 for (0002,0010). */
export function metaUid(file: Buffer, element: number): string | undefined {
  let offset = 132;
  const end = dataSetOffset(file);
  while (offset < end) {
    const el = file.readUInt16LE(offset + 2);
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV'].includes(vr);
    const length = long ? file.readUInt32LE(offset + 8) : file.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    if (el === element) return file.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    offset = start + length;
  }
  return undefined;
}

function item(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}

function aeField(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' '), 'latin1');
}

/** A-ASSOCIATE-RQ as an SCU would send it. */
export function encodeAssociateRq(params: {
  calledAeTitle: string;
  callingAeTitle: string;
  contexts: { id: number; abstractSyntaxUid: string; transferSyntaxUids: string[] }[];
  maxPduLength?: number;
}): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  aeField(params.calledAeTitle).copy(fixed, 4);
  aeField(params.callingAeTitle).copy(fixed, 20);
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(params.maxPduLength ?? 16384, 0);
  const body = Buffer.concat([
    fixed,
    item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')),
    ...params.contexts.map((pc) =>
      item(
        0x20,
        Buffer.concat([
          Buffer.from([pc.id, 0, 0, 0]),
          item(0x30, Buffer.from(pc.abstractSyntaxUid)),
          ...pc.transferSyntaxUids.map((ts) => item(0x40, Buffer.from(ts))),
        ]),
      ),
    ),
    item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4'))])),
  ]);
  return pduOf(PduType.AssociateRq, body);
}

export function pduOf(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

/** One P-DATA-TF holding a single PDV. */
export function encodePData(contextId: number, data: Buffer, isCommand: boolean, isLast: boolean): Buffer {
  const pdv = Buffer.alloc(6);
  pdv.writeUInt32BE(data.length + 2, 0);
  pdv.writeUInt8(contextId, 4);
  pdv.writeUInt8((isCommand ? PdvFlag.Command : 0) | (isLast ? PdvFlag.Last : 0), 5);
  return pduOf(PduType.PDataTf, Buffer.concat([pdv, data]));
}

/** A raw TCP client that records every byte the server sends and whether it closed. */
export class RawPeer {
  readonly received: Buffer[] = [];
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.received.push(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once the first n received bytes are in (or rejects after a timeout). */
  async firstBytes(n: number, timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = Buffer.concat(this.received);
      if (all.length >= n) return all;
      if (Date.now() > deadline) throw new Error(`only ${all.length} of ${n} bytes received`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * DCMTK's storescp in bit-preserving mode (+B) accepting every syntax it knows (+xa): it writes
 * each received data set exactly as it came off the wire, so it tells us what a sender really sent.
 */
export async function startBitPreservingStorescp(aeTitle: string, outputDir: string): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const child = startDcmtk('storescp', ['-aet', aeTitle, '+B', '+xa', '-od', outputDir, String(port)]);
  const stop = (): void => void child.kill('SIGTERM');
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const probe = await runTool('echoscu', ['-aec', aeTitle, '127.0.0.1', String(port)]);
    if (probe.code === 0) return { port, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error('storescp did not start');
}
