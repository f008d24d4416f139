/**
 * The SCP against hostile peers: raw sockets built here do what no well-behaved sender does
 * (never associate, drip-feed, hold slots, inject file meta information, lie about UIDs, announce
 * absurd lengths, stop half-way), and after each attack a real DCMTK sender must still be served.
 * Timers are set short (hundreds of milliseconds) so the suite takes seconds. Other peer addresses
 * are 127.0.0.2-4 (all of 127/8 is loopback on Linux).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { corpus } from '@cxr/test-corpus';
import { AbortReason, CommandField, PduType } from './dimse-constants.ts';
import { encodeRequest } from './dimse-messages.ts';
import { createDimseServer, type DimseServer, type DimseServerOptions, type InstanceContext, type ReceiveBudget } from './dimse-server.ts';
import {
  CT_IMAGE_STORAGE, EXPLICIT_VR_LE, dataSetOffset, encodeAssociateRq, encodePData, metaUid, pduOf, RawPeer, runTool, syntheticDataSet, syntheticPart10,
} from './dcmtk.test-support.ts';

const AE = 'HOSTILE_TEST';
/** A Python with pydicom (PYDICOM_PYTHON, else this suite's venv); the pydicom check is skipped without one. */
const PYTHON = process.env.PYDICOM_PYTHON ?? '/tmp/venv-dimse-hostile/bin/python';
let hasPydicom = false;
const run = promisify(execFile);

/** The budget the server shares with other receivers, as the application would give it. */
class CountingBudget implements ReceiveBudget {
  reserved = 0;
  refusals = 0;
  constructor(private readonly limit: number) {}
  tryReserve(bytes: number): boolean {
    if (this.reserved + bytes > this.limit) {
      this.refusals += 1;
      return false;
    }
    this.reserved += bytes;
    return true;
  }
  release(bytes: number): void {
    this.reserved -= bytes;
  }
}

interface Harness {
  server: DimseServer;
  port: number;
  instances: { file: Buffer; ctx: InstanceContext }[];
  logs: { level: string; msg?: string }[];
}

let dir: string;
let uidCounter = 0;
const nextUid = (): string => `1.2.826.0.1.3680043.10.2.${process.pid}.${(uidCounter += 1)}`;
const running: DimseServer[] = [];
const peers: RawPeer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dimse-hostile-'));
  hasPydicom = existsSync(PYTHON) && (await run(PYTHON, ['-c', 'import pydicom']).then(() => true, () => false));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.destroy();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function startServer(overrides: Partial<DimseServerOptions> = {}): Promise<Harness> {
  const instances: Harness['instances'] = [];
  const logs: Harness['logs'] = [];
  const log = (level: string) => (_obj: object, msg?: string) => logs.push({ level, ...(msg !== undefined ? { msg } : {}) });
  const server = createDimseServer({
    host: '127.0.0.1',
    port: 0,
    aeTitle: AE,
    maxAssociations: 4,
    maxPduLength: 16384,
    maxInstanceBytes: 8 * 1024 * 1024,
    artimTimeoutMs: 400,
    idleTimeoutMs: 5_000,
    receiveRateWindowMs: 500,
    minReceiveBytesPerSecond: 2_000,
    messageTimeoutMs: 2_000,
    maxPendingConnections: 32,
    maxConnectionsPerPeer: 40,
    maxAssociationsPerPeer: 4,
    maxAssociationsPerCallingAe: 4,
    closeGracePeriodMs: 1_000,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    onInstance: async (file, ctx) => {
      instances.push({ file, ctx });
    },
    onAssociationEnd: async () => undefined,
    ...overrides,
  });
  running.push(server);
  const { port } = await server.listen();
  return { server, port, instances, logs };
}

async function connect(port: number, localAddress?: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(port, localAddress);
  peers.push(peer);
  return peer;
}

const storageRq = (callingAeTitle = 'RAW') =>
  encodeAssociateRq({
    calledAeTitle: AE,
    callingAeTitle,
    contexts: [{ id: 3, abstractSyntaxUid: CT_IMAGE_STORAGE, transferSyntaxUids: [EXPLICIT_VR_LE] }],
  });

/** A raw association with a storage context (id 3); resolves to the peer and the type of the answer PDU. */
async function associate(port: number, options: { callingAeTitle?: string; localAddress?: string } = {}): Promise<{ peer: RawPeer; answer: number }> {
  const peer = await connect(port, options.localAddress);
  peer.write(storageRq(options.callingAeTitle));
  const answer = (await peer.firstBytes(6))[0]!;
  return { peer, answer };
}

function storeCommand(sopInstanceUid: string, sopClassUid = CT_IMAGE_STORAGE): Buffer {
  return encodeRequest({ commandField: CommandField.CStoreRq, messageId: 1, affectedSopClassUid: sopClassUid, affectedSopInstanceUid: sopInstanceUid, hasDataSet: true });
}

/** Sends one C-STORE (command, then the data set in P-DATA-TFs) and waits for its response. */
async function storeRaw(peer: RawPeer, sopInstanceUid: string, dataSet: Buffer, sopClassUid = CT_IMAGE_STORAGE): Promise<{ status: number; errorComment?: string }> {
  const before = peer.responses().length;
  peer.write(encodePData(3, storeCommand(sopInstanceUid, sopClassUid), true, true));
  const fragment = 16384 - 6;
  for (let i = 0; i < dataSet.length; i += fragment) peer.write(encodePData(3, dataSet.subarray(i, i + fragment), false, i + fragment >= dataSet.length));
  await expect.poll(() => peer.responses().length).toBe(before + 1);
  return peer.responses()[before]!;
}

const echo = (port: number, extra: string[] = []) => runTool('echoscu', ['-aec', AE, ...extra, '127.0.0.1', String(port)]);

/** A legitimate storescu send of a fresh synthetic instance: stored, and acknowledged with its UID. */
async function legitimateStoreSucceeds(h: Harness): Promise<void> {
  const uid = nextUid();
  const file = path.join(dir, `${uid}.dcm`);
  await writeFile(file, syntheticPart10(uid));
  const before = h.instances.length;
  const result = await runTool('storescu', ['-aet', 'LEGIT', '-aec', AE, '127.0.0.1', String(h.port), file]);
  expect(result.code, result.output).toBe(0);
  expect(h.instances.slice(before).map((i) => i.ctx.sopInstanceUid)).toEqual([uid]);
}

describe('DIMSE SCP under attack: holding connections', () => {
  test('closes a connection that never sends an A-ASSOCIATE-RQ once ARTIM passes, and a byte now and then does not extend it', async () => {
    const h = await startServer();
    const silent = await connect(h.port);
    const trickling = await connect(h.port);
    // The first bytes of an A-ASSOCIATE-RQ, one every 100 ms: under the old idle timer, each reset it.
    const rq = storageRq();
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < rq.length - 1) trickling.write(rq.subarray(sent, (sent += 1)));
    }, 100);
    try {
      await Promise.all([silent.closed, trickling.closed]);
    } finally {
      clearInterval(trickle);
    }
    // It was still trickling when closed: ARTIM (400 ms) passed long before the RQ could be complete.
    expect(sent).toBeLessThan(rq.length - 1);
    expect(h.logs.filter((l) => l.msg === 'DIMSE no A-ASSOCIATE-RQ before ARTIM expired, closing')).toHaveLength(2);
    await legitimateStoreSucceeds(h);
  });

  test('serves echoscu while unassociated connections outnumber the association slots many times over', async () => {
    const h = await startServer({ artimTimeoutMs: 20_000 });
    const idle = await Promise.all(Array.from({ length: 24 }, () => connect(h.port)));
    await expect.poll(() => h.server.pendingConnections()).toBe(24);
    const result = await echo(h.port);
    expect(result.code, result.output).toBe(0);
    // Served beside them, not by dropping them: every idle connection is still open.
    expect(idle.filter((p) => p.isClosed)).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('drops the oldest unassociated connection when the pending cap is full, so echoscu still gets in', async () => {
    const h = await startServer({ artimTimeoutMs: 20_000, maxPendingConnections: 8 });
    const idle: RawPeer[] = [];
    for (let i = 0; i < 8; i += 1) idle.push(await connect(h.port));
    await expect.poll(() => h.server.pendingConnections()).toBe(8);
    const result = await echo(h.port);
    expect(result.code, result.output).toBe(0);
    await idle[0]!.closed;
    expect(idle.slice(1).filter((p) => p.isClosed)).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('closes connections beyond the per-peer cap at once, while another address is still served', async () => {
    const h = await startServer({ artimTimeoutMs: 20_000, maxConnectionsPerPeer: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(h.port, '127.0.0.2')));
    await expect.poll(() => h.server.pendingConnections()).toBe(5);
    const sixth = await connect(h.port, '127.0.0.2');
    await sixth.closed;
    expect(held.filter((p) => p.isClosed)).toHaveLength(0);
    const result = await echo(h.port); // from 127.0.0.1
    expect(result.code, result.output).toBe(0);
    await legitimateStoreSucceeds(h);
  });

  test('rejects associations beyond the per-peer limit and beyond the per-calling-AE limit as transient', async () => {
    // The held associations must outlive the DCMTK runs below on a loaded machine: a long idle timeout.
    const h = await startServer({ maxAssociations: 8, maxAssociationsPerPeer: 2, maxAssociationsPerCallingAe: 2, idleTimeoutMs: 120_000 });
    // Two from 127.0.0.2 fill that address's share; a third is refused.
    for (let i = 0; i < 2; i += 1) expect((await associate(h.port, { localAddress: '127.0.0.2', callingAeTitle: `PEER${i}` })).answer).toBe(PduType.AssociateAc);
    const third = await associate(h.port, { localAddress: '127.0.0.2', callingAeTitle: 'PEER3' });
    expect(third.answer).toBe(PduType.AssociateRj);
    const rj = await third.peer.firstBytes(10);
    expect([rj[7], rj[8], rj[9]]).toEqual([2, 3, 2]); // transient, service provider (presentation), local limit exceeded
    // Two calling HOG from other addresses fill that AE's share.
    expect((await associate(h.port, { localAddress: '127.0.0.3', callingAeTitle: 'HOG' })).answer).toBe(PduType.AssociateAc);
    expect((await associate(h.port, { localAddress: '127.0.0.4', callingAeTitle: 'HOG' })).answer).toBe(PduType.AssociateAc);
    const hog = await runTool('echoscu', ['-aet', 'HOG', '-aec', AE, '127.0.0.1', String(h.port)]);
    expect(hog.code).not.toBe(0);
    expect(hog.output).toMatch(/Local Limit Exceeded/i);
    const other = await echo(h.port, ['-aet', 'OTHER']);
    expect(other.code, other.output).toBe(0);
    // echoscu exits on the release response, maybe before the server has closed its side.
    await expect.poll(() => h.server.activeAssociations()).toBe(4);
    await legitimateStoreSucceeds(h);
  });
});

describe('DIMSE SCP under attack: data that stops progressing', () => {
  test('aborts an association whose data set arrives a byte at a time, and storescu is served meanwhile', async () => {
    const h = await startServer();
    const { peer } = await associate(h.port);
    const uid = nextUid();
    const dataSet = syntheticDataSet(uid);
    peer.write(encodePData(3, storeCommand(uid), true, true));
    const pdu = encodePData(3, dataSet, false, true);
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < pdu.length - 1) peer.write(pdu.subarray(sent, (sent += 1)));
    }, 100);
    try {
      await legitimateStoreSucceeds(h);
      await peer.closed;
    } finally {
      clearInterval(drip);
    }
    const all = Buffer.concat(peer.received);
    const acLength = 6 + all.readUInt32BE(2);
    expect(all[acLength]).toBe(PduType.Abort);
    expect(h.instances.map((i) => i.ctx.sopInstanceUid)).not.toContain(uid);
    expect(h.logs.some((l) => l.msg === 'DIMSE data arriving slower than the minimum rate, aborting')).toBe(true);
    await legitimateStoreSucceeds(h);
  });

  test('aborts a message that keeps arriving fast enough but past its deadline', async () => {
    const h = await startServer({ messageTimeoutMs: 1_000 });
    const { peer } = await associate(h.port);
    peer.write(encodePData(3, storeCommand(nextUid()), true, true));
    // 4 KiB every 50 ms (80 KiB/s, far above the minimum rate), never the last fragment.
    const chunk = Buffer.alloc(4096);
    const feed = setInterval(() => peer.write(encodePData(3, chunk, false, false)), 50);
    try {
      await peer.closed;
    } finally {
      clearInterval(feed);
    }
    expect(h.logs.some((l) => l.msg === 'DIMSE message not complete within its deadline, aborting')).toBe(true);
    expect(h.instances).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });
});

describe('DIMSE SCP under attack: memory', () => {
  test('refuses with 0xA700 as soon as a data set would exceed the shared memory budget, keeps the association, and stores again once memory is free', async () => {
    const budget = new CountingBudget(200_000);
    const h = await startServer({ receiveBudget: budget });
    // Someone else (say STOW-RS) holds most of the budget.
    expect(budget.tryReserve(150_000)).toBe(true);
    const { peer } = await associate(h.port);
    const uid = nextUid();
    const big = syntheticDataSet(uid, [{ tag: 'x00091010', vr: 'OB', value: new Uint8Array(100_000) }]);
    peer.write(encodePData(3, storeCommand(uid), true, true));
    // Everything but the last fragment: the refusal is decided already, and nothing is held.
    const fragment = 16384 - 6;
    const last = Math.floor((big.length - 1) / fragment) * fragment;
    for (let i = 0; i < last; i += fragment) peer.write(encodePData(3, big.subarray(i, i + fragment), false, false));
    await expect.poll(() => budget.refusals).toBeGreaterThan(0);
    await expect.poll(() => budget.reserved).toBe(150_000);
    peer.write(encodePData(3, big.subarray(last), false, true));
    await expect.poll(() => peer.responses().length).toBe(1);
    expect(peer.responses()[0]).toEqual({ status: 0xa700, errorComment: 'Out of resources: receive memory full, retry later' });
    // DCMTK gets the same answer, and a retry once the memory is free succeeds on the same association.
    const refused = await runTool('storescu', ['-d', '-aec', AE, '127.0.0.1', String(h.port), path.join(dir, await writeBig(big, uid))]);
    expect(refused.output).toMatch(/DIMSE Status\s*: 0xa700/i);
    budget.release(150_000);
    expect(await storeRaw(peer, uid, big)).toEqual({ status: 0 });
    expect(h.instances.map((i) => i.ctx.sopInstanceUid)).toContain(uid);
    await expect.poll(() => budget.reserved).toBe(0);
    await legitimateStoreSucceeds(h);
  });

  test('stores nothing and releases the memory when the sender aborts or drops in the middle of a data set', async () => {
    const budget = new CountingBudget(10_000_000);
    const h = await startServer({ receiveBudget: budget });
    for (const end of ['abort', 'drop'] as const) {
      const { peer } = await associate(h.port);
      const uid = nextUid();
      const dataSet = syntheticDataSet(uid, [{ tag: 'x00091010', vr: 'OB', value: new Uint8Array(60_000) }]);
      peer.write(encodePData(3, storeCommand(uid), true, true));
      peer.write(encodePData(3, dataSet.subarray(0, 16000), false, false));
      peer.write(encodePData(3, dataSet.subarray(16000, 32000), false, false));
      await expect.poll(() => budget.reserved).toBeGreaterThan(0);
      if (end === 'abort') peer.write(pduOf(PduType.Abort, Buffer.from([0, 0, 0, 0])));
      else peer.destroy();
      await peer.closed;
      await expect.poll(() => budget.reserved).toBe(0);
      expect(h.instances.map((i) => i.ctx.sopInstanceUid)).not.toContain(uid);
    }
    await legitimateStoreSucceeds(h);
  });
});

async function writeBig(dataSet: Buffer, uid: string): Promise<string> {
  const { encodeFileMetaInformation } = await import('@cxr/dicom');
  const name = `big-${uid}.dcm`;
  await writeFile(path.join(dir, name), Buffer.concat([encodeFileMetaInformation({ mediaStorageSopClassUid: CT_IMAGE_STORAGE, mediaStorageSopInstanceUid: uid, transferSyntaxUid: EXPLICIT_VR_LE }), dataSet]));
  return name;
}

describe('DIMSE SCP under attack: what the data set claims', () => {
  test('refuses a data set carrying file meta elements (group 0002) with 0xC000 and a reason, and stores nothing', async () => {
    const h = await startServer();
    const { peer } = await associate(h.port);
    const injections = [
      // A transfer syntax other than the negotiated one, and an instance UID other than the command's.
      { tag: 'x00020010', vr: 'UI' as const, value: '1.2.840.10008.1.2.2' },
      { tag: 'x00020003', vr: 'UI' as const, value: '1.2.3.4.5.6.7' },
    ];
    for (const element of injections) {
      const uid = nextUid();
      expect(await storeRaw(peer, uid, syntheticDataSet(uid, [element]))).toEqual({ status: 0xc000, errorComment: 'Data set holds file meta information (group 0002)' });
    }
    expect(h.instances).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('refuses a whole Part 10 file (preamble and DICM) sent as the data set with 0xC000', async () => {
    const h = await startServer();
    const { peer } = await associate(h.port);
    const uid = nextUid();
    expect(await storeRaw(peer, uid, syntheticPart10(uid))).toEqual({ status: 0xc000, errorComment: 'A Part 10 file (preamble, DICM) was sent as the data set' });
    expect(h.instances).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('refuses a data set whose SOP Instance or SOP Class UID differs from the command with 0xA900 and a reason', async () => {
    const h = await startServer();
    const { peer } = await associate(h.port);
    expect(await storeRaw(peer, nextUid(), syntheticDataSet(nextUid()))).toEqual({ status: 0xa900, errorComment: 'SOP Instance UID differs from Affected SOP Instance UID' });
    const uid = nextUid();
    const mr = '1.2.840.10008.5.1.4.1.1.4';
    expect(await storeRaw(peer, uid, syntheticDataSet(uid, [], mr))).toEqual({ status: 0xa900, errorComment: 'SOP Class UID differs from Affected SOP Class UID' });
    // Only a Patient's Name (0010,0010): no SOP UIDs at all.
    const noUids = Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e, 0x02, 0x00, 0x41, 0x20]);
    expect(await storeRaw(peer, uid, noUids)).toEqual({ status: 0xc000, errorComment: 'Data set has no SOP Class UID (0008,0016)' });
    expect(h.instances).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('refuses a data set whose element length runs past its end, huge or truncated, with 0xC000', async () => {
    const h = await startServer();
    const { peer } = await associate(h.port);
    const uid = nextUid();
    const whole = syntheticDataSet(uid);
    // The data set ends with Pixel Data (12-byte header, 128 bytes): announce 4 GiB - 16 instead.
    const hugeUid = nextUid();
    const pixelHeader = Buffer.concat([Buffer.from([0xe0, 0x7f, 0x10, 0x00]), Buffer.from('OW'), Buffer.alloc(2), Buffer.from([0xf0, 0xff, 0xff, 0xff])]);
    const hugeSet = Buffer.concat([syntheticDataSet(hugeUid).subarray(0, whole.length - 140), pixelHeader, Buffer.alloc(16)]);
    expect(await storeRaw(peer, hugeUid, hugeSet)).toEqual({ status: 0xc000, errorComment: 'Data set truncated: an element runs past its end' });
    // The same data set cut in the middle of its pixel data.
    expect(await storeRaw(peer, uid, whole.subarray(0, whole.length - 20))).toEqual({ status: 0xc000, errorComment: 'Data set truncated: an element runs past its end' });
    expect(h.instances).toHaveLength(0);
    await legitimateStoreSucceeds(h);
  });

  test('aborts, without holding them, a P-DATA-TF announcing 4 GiB, a PDV longer than its PDU and an oversized A-ASSOCIATE-RQ', async () => {
    const h = await startServer();
    const attacks: ((peer: RawPeer) => void)[] = [
      (peer) => peer.write(Buffer.from([PduType.PDataTf, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0])),
      (peer) => {
        const pdv = Buffer.alloc(12);
        pdv.writeUInt32BE(0x7fffffff, 0); // PDV item length far beyond the PDU's 12 bytes
        pdv.writeUInt8(3, 4);
        pdv.writeUInt8(0x03, 5);
        peer.write(pduOf(PduType.PDataTf, pdv));
      },
    ];
    for (const attack of attacks) {
      const { peer, answer } = await associate(h.port);
      expect(answer).toBe(PduType.AssociateAc);
      attack(peer);
      await peer.closed;
      const all = Buffer.concat(peer.received);
      expect(all[6 + all.readUInt32BE(2)]).toBe(PduType.Abort);
    }
    const rq = await connect(h.port);
    rq.write(Buffer.from([PduType.AssociateRq, 0, 0x7f, 0xff, 0xff, 0xff]));
    await rq.closed;
    expect(Buffer.concat(rq.received)[0]).toBe(PduType.Abort);
    expect(Buffer.concat(rq.received)[9]).toBe(AbortReason.InvalidPduParameterValue);
    await legitimateStoreSucceeds(h);
  });
});

describe('what is stored', () => {
  test('stores originals that dcmdump (and pydicom, when installed) read, carrying the UIDs that were acknowledged', async () => {
    const h = await startServer();
    const ct = corpus().path('ct-signed-rescale.dcm');
    const synthetic = path.join(dir, 'stored-synthetic.dcm');
    const uid = nextUid();
    await writeFile(synthetic, syntheticPart10(uid));
    const result = await runTool('storescu', ['-aec', AE, '127.0.0.1', String(h.port), ct, synthetic]);
    expect(result.code, result.output).toBe(0);
    expect(h.instances).toHaveLength(2);
    for (const [i, { file, ctx }] of h.instances.entries()) {
      const stored = path.join(dir, `stored-${i}.dcm`);
      await writeFile(stored, file);
      const dump = await runTool('dcmdump', ['-q', '-Un', '+P', '0002,0003', '+P', '0002,0010', '+P', '0008,0018', '+P', '0008,0016', stored]);
      expect(dump.code, dump.output).toBe(0);
      const values = Object.fromEntries([...dump.output.matchAll(/^\((\w{4},\w{4})\) UI \[([^\]]*)\]/gm)].map((m) => [m[1], m[2]!.replace(/\0+$/, '')]));
      expect(values).toEqual({
        '0002,0003': ctx.sopInstanceUid, '0002,0010': ctx.transferSyntaxUid, '0008,0016': ctx.sopClassUid, '0008,0018': ctx.sopInstanceUid,
      });
      expect(metaUid(file, 0x0003)).toBe(ctx.sopInstanceUid);
      expect(file.subarray(dataSetOffset(file)).readUInt16LE(0)).not.toBe(0x0002);
      if (hasPydicom) {
        const script = 'import sys,pydicom; d=pydicom.dcmread(sys.argv[1]); print(d.file_meta.MediaStorageSOPInstanceUID, d.SOPInstanceUID, d.file_meta.TransferSyntaxUID)';
        const { stdout } = await run(PYTHON, ['-c', script, stored]);
        expect(stdout.trim().split(' ')).toEqual([ctx.sopInstanceUid, ctx.sopInstanceUid, ctx.transferSyntaxUid]);
      }
    }
    expect(h.instances.map((i) => i.ctx.sopInstanceUid)).toContain(uid);
  });
});
