/**
 * Test support (not a test): runs DCMTK tools as real peers, reads Part 10 files, and a raw
 * socket SCU for what no well-behaved tool will do (garbage, oversized PDUs, dropping mid-store).
 */
import net from 'node:net';
import { freePort } from '@cxr/devstack';
import { runDcmtk, startDcmtk } from '@cxr/dcmtk';
import { Tag, encodeDataSet, encodeFileMetaInformation, type DataElement } from '@cxr/dicom';
import { PdvFlag, PduType } from './dimse-constants.ts';

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';

/**
 * A small synthetic CT data set (explicit VR LE) with the given SOP Instance UID, 8x8 16-bit
 * pixels, and any extra elements (e.g. group 0002 ones, to inject). Synthetic: no patient.
 */
export function syntheticDataSet(sopInstanceUid: string, extra: DataElement[] = [], sopClassUid = CT_IMAGE_STORAGE): Buffer {
  return encodeDataSet([
    { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: sopInstanceUid },
    { tag: 'x00080060', vr: 'CS', value: 'CT' },
    { tag: Tag.PatientName, vr: 'PN', value: 'Synthetic^Test' },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.1' },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.2' },
    { tag: 'x00280002', vr: 'US', value: 1 },
    { tag: 'x00280004', vr: 'CS', value: 'MONOCHROME2' },
    { tag: 'x00280010', vr: 'US', value: 8 },
    { tag: 'x00280011', vr: 'US', value: 8 },
    { tag: 'x00280100', vr: 'US', value: 16 },
    { tag: 'x00280101', vr: 'US', value: 12 },
    { tag: 'x00280102', vr: 'US', value: 11 },
    { tag: 'x00280103', vr: 'US', value: 0 },
    { tag: 'x7fe00010', vr: 'OW', value: new Uint16Array(64).map((_, i) => i * 16) },
    ...extra,
  ]);
}

/** The same as a Part 10 file (what storescu sends). */
export function syntheticPart10(sopInstanceUid: string): Buffer {
  const meta = encodeFileMetaInformation({ mediaStorageSopClassUid: CT_IMAGE_STORAGE, mediaStorageSopInstanceUid: sopInstanceUid, transferSyntaxUid: EXPLICIT_VR_LE });
  return Buffer.concat([meta, syntheticDataSet(sopInstanceUid)]);
}

/** Status (0000,0900) and Error Comment (0000,0902) of each DIMSE response in bytes the server sent after its AC. */
export function responsesIn(bytes: Buffer): { status: number; errorComment?: string }[] {
  const out: { status: number; errorComment?: string }[] = [];
  let command: Buffer[] = [];
  for (let i = 0; i + 6 <= bytes.length; i += 6 + bytes.readUInt32BE(i + 2)) {
    if (bytes[i] !== PduType.PDataTf) continue;
    const end = i + 6 + bytes.readUInt32BE(i + 2);
    for (let p = i + 6; p + 6 <= end; p += 4 + bytes.readUInt32BE(p)) {
      const length = bytes.readUInt32BE(p);
      const flags = bytes[p + 5]!;
      if ((flags & PdvFlag.Command) === 0) continue;
      command.push(bytes.subarray(p + 6, p + 4 + length));
      if ((flags & PdvFlag.Last) === 0) continue;
      const set = Buffer.concat(command);
      command = [];
      const response: { status: number; errorComment?: string } = { status: -1 };
      for (let o = 0; o + 8 <= set.length; o += 8 + set.readUInt32LE(o + 4)) {
        const element = set.readUInt16LE(o + 2);
        const len = set.readUInt32LE(o + 4);
        if (element === 0x0900) response.status = set.readUInt16LE(o + 8);
        if (element === 0x0902) response.errorComment = set.toString('latin1', o + 8, o + 8 + len).trim();
      }
      out.push(response);
    }
  }
  return out;
}

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

  /** `localAddress` e.g. '127.0.0.2' (all of 127/8 is loopback on Linux) to come from another peer address. */
  static connect(port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  /** The DIMSE responses received so far (after the first PDU, the AC). */
  responses(): { status: number; errorComment?: string }[] {
    const all = Buffer.concat(this.received);
    if (all.length < 6) return [];
    return responsesIn(all.subarray(6 + all.readUInt32BE(2)));
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
