/**
 * The SCP against real DCMTK peers (echoscu, storescu, dcmsend), plus a raw socket for abuse.
 * Each test starts its own server on its own free port and closes it.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NEEDS_SHARED, corpus, sharedSamplesDir } from '@cxr/test-corpus';
import { AbortReason, CommandField, PduType } from './dimse-constants.ts';
import { DimseStatusError } from './dimse-errors.ts';
import { encodeRequest } from './dimse-messages.ts';
import { createDimseServer, type AssociationEndContext, type DimseServer, type DimseServerOptions, type InstanceContext } from './dimse-server.ts';
import {
  dataSetOffset, encodeAssociateRq, encodePData, metaUid, pduOf, RawPeer, runTool, startBitPreservingStorescp, syntheticDataSet,
} from './dcmtk.test-support.ts';

// The generated corpus always; the shared samples (real files by other tools) when present.
const CORPUS = corpus();
const SHARED = sharedSamplesDir();
const AE = 'INGEST_TEST';
const CT_SMALL = CORPUS.path('ct-signed-rescale.dcm');
const RT_PLAN = CORPUS.path('rtplan-meta-mismatch.dcm');
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const UNCOMPRESSED = ['1.2.840.10008.1.2', EXPLICIT_VR_LE, '1.2.840.10008.1.2.2'];
const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Harness {
  server: DimseServer;
  port: number;
  instances: { file: Buffer; ctx: InstanceContext }[];
  ends: AssociationEndContext[];
  logs: { level: string; obj: object; msg?: string }[];
  /** Resolves once n associations have ended. */
  ended(n: number): Promise<void>;
}

const running: DimseServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function startServer(overrides: Partial<DimseServerOptions> = {}): Promise<Harness> {
  const instances: Harness['instances'] = [];
  const ends: AssociationEndContext[] = [];
  const logs: Harness['logs'] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const log = (level: string) => (obj: object, msg?: string) => logs.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
  const server = createDimseServer({
    host: '127.0.0.1',
    port: 0,
    aeTitle: AE,
    maxAssociations: 4,
    maxPduLength: 16384,
    maxInstanceBytes: 64 * 1024 * 1024,
    idleTimeoutMs: 10_000,
    closeGracePeriodMs: 2_000,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    onInstance: async (file, ctx) => {
      instances.push({ file, ctx });
    },
    ...overrides,
    onAssociationEnd: async (ctx) => {
      ends.push(ctx);
      for (const w of waiters) if (ends.length >= w.n) w.resolve();
      await overrides.onAssociationEnd?.(ctx);
    },
  });
  running.push(server);
  const { port } = await server.listen();
  return {
    server,
    port,
    instances,
    ends,
    logs,
    ended: (n) => (ends.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** A promise the test resolves by hand, to hold an onInstance open. */
function gate(): { promise: Promise<void>; open: () => void; entered: Promise<void>; enter: () => void } {
  let open!: () => void;
  let enter!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  const entered = new Promise<void>((r) => (enter = r));
  return { promise, open, entered, enter };
}

const echo = (port: number, extra: string[] = []) => runTool('echoscu', ['-aec', AE, ...extra, '127.0.0.1', String(port)]);

describe('DIMSE SCP with DCMTK peers', () => {
  test('answers a C-ECHO from echoscu and reports a released association with nothing stored', async () => {
    const h = await startServer();
    const result = await echo(h.port, ['-aet', 'MODALITY']);
    expect(result.code, result.output).toBe(0);
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ callingAeTitle: 'MODALITY', released: true, storedSopInstanceUids: [] });
  });

  test('binds the address it is given and nothing else', async () => {
    const h = await startServer();
    // 127.0.0.2 is loopback too, but not the address we bound (127.0.0.1).
    const other = await runTool('echoscu', ['-aec', AE, '-to', '3', '127.0.0.2', String(h.port)]);
    expect(other.code).not.toBe(0);
    expect(other.output).toMatch(/Connection refused/i);
  });

  // DCMTK's senders re-encode what they read (they drop trailing padding and group lengths,
  // rewrite sequence lengths), so for most files the wire bytes are not the file's bytes. The
  // oracle is DCMTK's own bit-preserving receiver given the same file; the raw-socket test
  // below checks original file bytes against what we hand to onInstance.
  async function receivesEverySample(SAMPLES: string, expectedCompared: number, unchanged: string[]): Promise<void> {
    const h = await startServer();
    const oracleDir = await mkdtemp(path.join(tmpdir(), 'dimse-oracle-'));
    const oracle = await startBitPreservingStorescp('ORACLE', oracleDir);
    try {
      const files = (await readdir(SAMPLES)).filter((f) => f.endsWith('.dcm')).sort();
      const sentUnchanged: string[] = [];
      let compared = 0;
      for (const name of files) {
        const before = h.instances.length;
        const result = await runTool('dcmsend', ['-aet', 'PACS', '-aec', AE, '127.0.0.1', String(h.port), path.join(SAMPLES, name)]);
        if (result.code !== 0) {
          // dcmsend refuses files it cannot parse itself (truncated, no meta); nothing may arrive.
          expect(h.instances.length, `${name}: ${result.output}`).toBe(before);
          continue;
        }
        expect(h.instances.length, `${name}: ${result.output}`).toBe(before + 1);
        const { file, ctx } = h.instances[before]!;
        expect(file.toString('latin1', 128, 132)).toBe('DICM');
        expect(metaUid(file, 0x0010)).toBe(ctx.transferSyntaxUid);
        expect(metaUid(file, 0x0002)).toBe(ctx.sopClassUid);
        expect(metaUid(file, 0x0003)).toBe(ctx.sopInstanceUid);
        expect(ctx.sha256).toEqual({ file: sha256Of(file), dataSet: sha256Of(file.subarray(dataSetOffset(file))) });
        const original = await readFile(path.join(SAMPLES, name));
        // We accept the first proposal. dcmsend proposes a compressed or deflated file's own
        // syntax first; for any uncompressed file it proposes explicit VR little endian first.
        const originalTs = metaUid(original, 0x0010)!;
        expect(ctx.transferSyntaxUid, name).toBe(UNCOMPRESSED.includes(originalTs) ? EXPLICIT_VR_LE : originalTs);

        await rm(oracleDir, { recursive: true, force: true });
        await mkdir(oracleDir);
        const oracleRun = await runTool('dcmsend', ['-aec', 'ORACLE', '127.0.0.1', String(oracle.port), path.join(SAMPLES, name)]);
        expect(oracleRun.code, oracleRun.output).toBe(0);
        const [oracleFile] = await readdir(oracleDir);
        const wire = await readFile(path.join(oracleDir, oracleFile!));
        const received = file.subarray(dataSetOffset(file));
        expect(received.equals(wire.subarray(dataSetOffset(wire))), `${name}: data set differs from the wire`).toBe(true);
        if (received.equals(original.subarray(dataSetOffset(original)))) sentUnchanged.push(name);
        compared += 1;
      }
      expect(compared).toBe(expectedCompared);
      // Files DCMTK itself writes canonically go through untouched end to end.
      expect(sentUnchanged).toEqual(expect.arrayContaining(unchanged));
    } finally {
      oracle.stop();
      await rm(oracleDir, { recursive: true, force: true });
    }
  }

  test('receives every corpus file dcmsend can read, each data set exactly as it was on the wire', async () => {
    // dcmsend refuses the files without a meta header or its transfer syntax and the truncated one.
    const readable = CORPUS.manifest.cases.filter((c) => !c.refusal || c.refusal.reason === 'sop_instance_mismatch');
    await receivesEverySample(CORPUS.dir, readable.length, ['sc-rgb-jpeg-baseline.dcm', 'ot-modality-lut-sequence.dcm', 'ot-voi-lut-sequence.dcm']);
  }, 120_000);

  test.skipIf(!SHARED)(`receives every shared sample dcmsend can read, each data set exactly as it was on the wire ${NEEDS_SHARED}`, async () => {
    await receivesEverySample(SHARED!, 17, ['SC_rgb_jpeg_dcmtk.dcm', 'mlut_18.dcm', 'vlut_04.dcm']);
  }, 120_000);

  test('rejects an association calling another AE title', async () => {
    const h = await startServer();
    const result = await runTool('echoscu', ['-aec', 'SOMEONE_ELSE', '127.0.0.1', String(h.port)]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Called AE Title Not Recognized/i);
    expect(h.ends).toEqual([]);
  });

  test('rejects a calling AE title that is not in the allowed list and accepts one that is', async () => {
    const h = await startServer({ allowedCallingAeTitles: ['PACS'] });
    const stranger = await echo(h.port, ['-aet', 'STRANGER']);
    expect(stranger.code).not.toBe(0);
    expect(stranger.output).toMatch(/Calling AE Title Not Recognized/i);
    const pacs = await echo(h.port, ['-aet', 'PACS']);
    expect(pacs.code, pacs.output).toBe(0);
  });

  test('reports the stored SOP instance UIDs of a released association', async () => {
    const h = await startServer();
    const result = await runTool('storescu', ['-aet', 'PACS', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL, RT_PLAN]);
    expect(result.code, result.output).toBe(0);
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ callingAeTitle: 'PACS', released: true });
    expect(h.ends[0]!.storedSopInstanceUids).toEqual(h.instances.map((i) => i.ctx.sopInstanceUid));
    expect(h.ends[0]!.storedSopInstanceUids).toHaveLength(2);
  });

  test('answers 0xA700 when onInstance fails with that status, and storescu reports the failure', async () => {
    const h = await startServer({
      onInstance: async () => {
        throw new DimseStatusError('storage unavailable', 0xa700);
      },
    });
    const result = await runTool('storescu', ['-d', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/DIMSE Status\s*: 0xa700/i);
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ released: true, storedSopInstanceUids: [] });
  });

  test('answers 0xA700 to an error without a status, treating it as retryable', async () => {
    const h = await startServer({
      onInstance: async () => {
        throw new Error('something unexpected');
      },
    });
    const result = await runTool('storescu', ['-d', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/DIMSE Status\s*: 0xa700/i);
  });

  test('passes a permanent status such as 0xA900 through to the sender', async () => {
    const h = await startServer({
      onInstance: async () => {
        throw new DimseStatusError('not what the SOP class says', 0xa900);
      },
    });
    const result = await runTool('storescu', ['-d', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/DIMSE Status\s*: 0xa900/i);
  });

  test('keeps a compressed object compressed when storescu proposes its syntax (-xs)', async () => {
    const h = await startServer();
    const sample = CORPUS.path('nm-jpeg-lossless-sv1.dcm');
    const result = await runTool('storescu', ['-xs', '-aec', AE, '127.0.0.1', String(h.port), sample]);
    expect(result.code, result.output).toBe(0);
    expect(h.instances).toHaveLength(1);
    const { file, ctx } = h.instances[0]!;
    expect(ctx.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.70');
    // storescu re-encodes the header elements, but the encapsulated pixel data must be the
    // sender's JPEG stream, not a decompressed copy.
    const original = await readFile(sample);
    const pixelDataTail = (b: Buffer) => b.subarray(b.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42])));
    expect(pixelDataTail(original).length).toBeGreaterThan(100_000);
    expect(pixelDataTail(file).equals(pixelDataTail(original))).toBe(true);
  });

  test('refuses an instance larger than maxInstanceBytes with 0xA700 and carries on with the next', async () => {
    const h = await startServer({ maxInstanceBytes: 10_000 });
    const refused = await runTool('storescu', ['-d', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/DIMSE Status\s*: 0xa700/i);
    // dcmsend -nh goes on after a failure: the small RT plan after the refused CT is stored
    // on the same association.
    const both = await runTool('dcmsend', ['-v', '-nh', '-aec', AE, '127.0.0.1', String(h.port), CT_SMALL, RT_PLAN]);
    expect(both.output).toMatch(/Received C-STORE Response \(Refused: OutOfResources\)/);
    await h.ended(2);
    expect(h.instances.map((i) => i.ctx.sopClassUid)).toEqual(['1.2.840.10008.5.1.4.1.1.481.5']);
    expect(h.ends[1]).toMatchObject({ released: true, storedSopInstanceUids: [h.instances[0]!.ctx.sopInstanceUid] });
  });

  test('rejects associations beyond maxAssociations as transient, and accepts again once one ends', async () => {
    const hold = gate();
    const h = await startServer({
      maxAssociations: 1,
      onInstance: async () => {
        hold.enter();
        await hold.promise;
      },
    });
    const storing = runTool('storescu', ['-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    await hold.entered;
    expect(h.server.activeAssociations()).toBe(1);
    const refused = await echo(h.port);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/Local Limit Exceeded/i);
    hold.open();
    expect((await storing).code).toBe(0);
    await h.ended(1);
    const later = await echo(h.port);
    expect(later.code, later.output).toBe(0);
  });

  test('close() stops accepting but lets an association in progress finish', async () => {
    const hold = gate();
    const h = await startServer({
      onInstance: async () => {
        hold.enter();
        await hold.promise;
      },
    });
    const storing = runTool('storescu', ['-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    await hold.entered;
    const closing = h.server.close();
    const refused = await echo(h.port);
    expect(refused.code).not.toBe(0);
    hold.open();
    const stored = await storing;
    expect(stored.code, stored.output).toBe(0);
    await closing;
    expect(h.ends).toHaveLength(1);
    expect(h.ends[0]).toMatchObject({ released: true });
    expect(h.ends[0]!.storedSopInstanceUids).toHaveLength(1);
    expect(h.server.activeAssociations()).toBe(0);
  });

  test('close() aborts an association still busy when the grace period is over', async () => {
    const hold = gate();
    const h = await startServer({
      closeGracePeriodMs: 300,
      onInstance: async () => {
        hold.enter();
        await hold.promise;
        throw new DimseStatusError('gave up', 0xa700);
      },
    });
    const storing = runTool('storescu', ['-aec', AE, '127.0.0.1', String(h.port), CT_SMALL]);
    await hold.entered;
    const closing = h.server.close();
    const stored = await storing;
    expect(stored.code).not.toBe(0);
    hold.open();
    await closing;
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ released: false, storedSopInstanceUids: [] });
  });
});

describe('DIMSE SCP against misbehaving peers', () => {
  const verificationRq = (called = AE) =>
    encodeAssociateRq({
      calledAeTitle: called,
      callingAeTitle: 'RAW',
      contexts: [
        { id: 1, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
        { id: 3, abstractSyntaxUid: CT_IMAGE_STORAGE, transferSyntaxUids: [EXPLICIT_VR_LE] },
        { id: 5, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxUids: ['1.2.840.10008.1.2'] }, // Study Root Q/R FIND
      ],
    });

  const withOwnSyntax = [
    'CT_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'image_dfl.dcm', 'SC_rgb_jpeg_dcmtk.dcm',
    'examples_ybr_color.dcm', 'JPEG-LL.dcm', 'JPGExtended.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm',
    'MR_small_RLE.dcm', 'RG3_J2KI.dcm', 'liver_1frame.dcm', 'reportsi.dcm', 'rtplan.dcm', 'mlut_18.dcm', 'vlut_04.dcm',
  ];
  /**
   * Sends a file's data set with its meta header's UIDs in the command. When the meta header names
   * another instance than the data set (`metaNamesAnother`), that is refused 0xA900 and nothing is stored.
   */
  async function handsOverOriginalDataSet(samplePath: string, metaNamesAnother = false): Promise<void> {
    const h = await startServer();
    const original = await readFile(samplePath);
    const sopClassUid = metaUid(original, 0x0002)!;
    const sopInstanceUid = metaUid(original, 0x0003)!;
    const transferSyntaxUid = metaUid(original, 0x0010)!;
    const dataset = original.subarray(dataSetOffset(original));
    const peer = await RawPeer.connect(h.port);
    peer.write(encodeAssociateRq({
      calledAeTitle: AE, callingAeTitle: 'RAW',
      contexts: [{ id: 1, abstractSyntaxUid: sopClassUid, transferSyntaxUids: [transferSyntaxUid, EXPLICIT_VR_LE] }],
    }));
    expect((await peer.firstBytes(6))[0]).toBe(PduType.AssociateAc);
    const command = encodeRequest({ commandField: CommandField.CStoreRq, messageId: 1, affectedSopClassUid: sopClassUid, affectedSopInstanceUid: sopInstanceUid, hasDataSet: true });
    peer.write(encodePData(1, command, true, true));
    const fragment = 16384 - 6;
    for (let i = 0; i < dataset.length; i += fragment) peer.write(encodePData(1, dataset.subarray(i, i + fragment), false, i + fragment >= dataset.length));
    if (metaNamesAnother) {
      await expect.poll(() => peer.responses().length).toBe(1);
      expect(peer.responses()[0]).toEqual({ status: 0xa900, errorComment: 'SOP Instance UID differs from Affected SOP Instance UID' });
      expect(h.instances).toEqual([]);
      peer.destroy();
      return;
    }
    await expect.poll(() => h.instances.length).toBe(1);
    peer.write(pduOf(PduType.ReleaseRq, Buffer.alloc(4)));
    await h.ended(1);
    const { file, ctx } = h.instances[0]!;
    expect(ctx).toMatchObject({ sopClassUid, sopInstanceUid, transferSyntaxUid });
    expect(metaUid(file, 0x0010)).toBe(transferSyntaxUid);
    expect(file.subarray(dataSetOffset(file)).equals(dataset)).toBe(true);
    // The digests computed as the fragments arrived are those of the bytes handed over.
    expect(ctx.sha256).toEqual({ file: sha256Of(file), dataSet: sha256Of(dataset) });
    expect(h.ends[0]).toMatchObject({ released: true, storedSopInstanceUids: [sopInstanceUid] });
  }

  // Every corpus file with a meta header our parser does not need to accept (the RT plan's meta
  // names another instance: over DIMSE the meta header is ours).
  const corpusWithOwnSyntax = CORPUS.manifest.cases.filter((c) => !c.refusal || c.refusal.reason === 'sop_instance_mismatch').map((c) => c.name);
  test.each(corpusWithOwnSyntax)('hands %s to onInstance with the data set bytes of the original file, or refuses it when its meta header names another instance', async (name) => {
    const metaNamesAnother = CORPUS.manifest.cases.find((c) => c.name === name)?.refusal?.reason === 'sop_instance_mismatch';
    await handsOverOriginalDataSet(CORPUS.path(name), metaNamesAnother);
  });

  // pydicom's rtplan.dcm, like the corpus RT plan, has a meta header naming another SOP instance.
  test.skipIf(!SHARED).each(withOwnSyntax)(`hands shared %s to onInstance with the data set bytes of the original file, or refuses it when its meta header names another instance ${NEEDS_SHARED}`, async (name) => {
    await handsOverOriginalDataSet(path.join(SHARED!, name), name === 'rtplan.dcm');
  });

  test('closes a connection that sends garbage, and keeps serving others', async () => {
    const h = await startServer();
    const peer = await RawPeer.connect(h.port);
    peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await peer.closed;
    const reply = Buffer.concat(peer.received);
    expect(reply[0]).toBe(PduType.Abort);
    expect(reply[9]).toBe(AbortReason.UnrecognizedPdu);
    const ok = await echo(h.port);
    expect(ok.code, ok.output).toBe(0);
    await h.ended(1);
    expect(h.ends).toHaveLength(1); // only the echo association: the garbage never became one
  });

  test('aborts, without allocating it, a P-DATA-TF longer than the maximum we advertised', async () => {
    const h = await startServer();
    const peer = await RawPeer.connect(h.port);
    peer.write(verificationRq());
    const ac = await peer.firstBytes(6);
    expect(ac[0]).toBe(PduType.AssociateAc);
    const header = Buffer.alloc(6);
    header.writeUInt8(PduType.PDataTf, 0);
    header.writeUInt32BE(0xfffffff0, 2);
    peer.write(header);
    await peer.closed;
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ released: false, storedSopInstanceUids: [] });
    const errors = h.logs.filter((l) => l.msg === 'DIMSE protocol error, aborting');
    expect(errors).toHaveLength(1);
  });

  test('accepts verification and storage contexts but rejects Query/Retrieve', async () => {
    const h = await startServer();
    const peer = await RawPeer.connect(h.port);
    peer.write(verificationRq());
    const first = await peer.firstBytes(6);
    const ac = await peer.firstBytes(6 + first.readUInt32BE(2));
    // Presentation context items (0x21): id at +4, result at +6.
    const results = new Map<number, number>();
    for (let i = 6 + 68; i < ac.length; ) {
      const type = ac[i]!;
      const len = ac.readUInt16BE(i + 2);
      if (type === 0x21) results.set(ac[i + 4]!, ac[i + 6]!);
      i += 4 + len;
    }
    expect(Object.fromEntries(results)).toEqual({ 1: 0, 3: 0, 5: 3 });
    peer.destroy();
  });

  test('reports no instance when the sender disconnects in the middle of a data set', async () => {
    const h = await startServer();
    const peer = await RawPeer.connect(h.port);
    peer.write(verificationRq());
    await peer.firstBytes(6);
    const dataset = (await readFile(CT_SMALL)).subarray(dataSetOffset(await readFile(CT_SMALL)));
    const command = encodeRequest({ commandField: CommandField.CStoreRq, messageId: 1, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: '1.2.3.4.5', hasDataSet: true });
    peer.write(encodePData(3, command, true, true));
    peer.write(encodePData(3, dataset.subarray(0, 8000), false, false));
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    await h.ended(1);
    expect(h.instances).toEqual([]);
    expect(h.ends[0]).toMatchObject({ callingAeTitle: 'RAW', released: false, storedSopInstanceUids: [] });
    expect(h.server.activeAssociations()).toBe(0);
  });

  test('stores a data set sent in many small fragments across PDUs, bytes unchanged', async () => {
    const h = await startServer();
    const peer = await RawPeer.connect(h.port);
    peer.write(verificationRq());
    await peer.firstBytes(6);
    const original = await readFile(CT_SMALL);
    const dataset = original.subarray(dataSetOffset(original));
    const uid = metaUid(original, 0x0003)!;
    const command = encodeRequest({ commandField: CommandField.CStoreRq, messageId: 7, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: uid, hasDataSet: true });
    peer.write(encodePData(3, command.subarray(0, 10), true, false));
    peer.write(encodePData(3, command.subarray(10), true, true));
    const bytes: Buffer[] = [];
    for (let i = 0; i < dataset.length; i += 1000) bytes.push(encodePData(3, dataset.subarray(i, i + 1000), false, i + 1000 >= dataset.length));
    // Written in odd-sized slices so PDU headers straddle TCP segments.
    const stream = Buffer.concat(bytes);
    for (let i = 0; i < stream.length; i += 777) peer.write(stream.subarray(i, i + 777));
    await expect.poll(() => h.instances.length).toBe(1);
    const { file, ctx } = h.instances[0]!;
    expect(ctx).toMatchObject({ sopInstanceUid: uid, transferSyntaxUid: EXPLICIT_VR_LE, callingAeTitle: 'RAW' });
    expect(file.subarray(dataSetOffset(file)).equals(dataset)).toBe(true);
    peer.write(pduOf(PduType.ReleaseRq, Buffer.alloc(4)));
    await h.ended(1);
    expect(h.ends[0]).toMatchObject({ released: true, storedSopInstanceUids: [uid] });
  });

  test('answers requests one at a time, in order, when a sender does not wait for responses', async () => {
    const order: string[] = [];
    const h = await startServer({
      onInstance: async (_file, ctx) => {
        await new Promise((r) => setTimeout(r, 20));
        order.push(ctx.sopInstanceUid);
      },
    });
    const peer = await RawPeer.connect(h.port);
    peer.write(verificationRq());
    const ac = await peer.firstBytes(6);
    const acLength = 6 + ac.readUInt32BE(2);
    for (const uid of ['1.2.3.1', '1.2.3.2', '1.2.3.3']) {
      const dataset = syntheticDataSet(uid);
      const command = encodeRequest({ commandField: CommandField.CStoreRq, messageId: Number(uid.slice(-1)), affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: uid, hasDataSet: true });
      peer.write(encodePData(3, command, true, true));
      for (let i = 0; i < dataset.length; i += 16000) peer.write(encodePData(3, dataset.subarray(i, i + 16000), false, i + 16000 >= dataset.length));
    }
    await expect.poll(() => order.length).toBe(3);
    expect(order).toEqual(['1.2.3.1', '1.2.3.2', '1.2.3.3']);
    peer.write(pduOf(PduType.ReleaseRq, Buffer.alloc(4)));
    await h.ended(1);
    // After the AC: three P-DATA-TF responses, then the A-RELEASE-RP.
    const replies = Buffer.concat(peer.received).subarray(acLength);
    const types: number[] = [];
    for (let i = 0; i < replies.length; i += 6 + replies.readUInt32BE(i + 2)) types.push(replies[i]!);
    expect(types).toEqual([PduType.PDataTf, PduType.PDataTf, PduType.PDataTf, PduType.ReleaseRp]);
    expect(h.ends[0]).toMatchObject({ released: true, storedSopInstanceUids: ['1.2.3.1', '1.2.3.2', '1.2.3.3'] });
  });

  test('logs a failing onAssociationEnd and keeps serving', async () => {
    const h = await startServer({
      onAssociationEnd: async () => {
        throw new Error('bookkeeping down');
      },
    });
    expect((await echo(h.port)).code).toBe(0);
    await h.ended(1);
    await expect.poll(() => h.logs.some((l) => l.level === 'error' && l.msg === 'onAssociationEnd failed')).toBe(true);
    expect((await echo(h.port)).code).toBe(0);
  });

  test('drops a connection that never asks for an association once ARTIM passes', async () => {
    const h = await startServer({ artimTimeoutMs: 200 });
    const peer = await RawPeer.connect(h.port);
    const started = Date.now();
    await peer.closed;
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
