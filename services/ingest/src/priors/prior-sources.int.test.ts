import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, analysisRequestSchema, reportEventSchema, type StudyReceivedEvent } from '@cxr/contracts';
import { freePort, orthancMissing, startRedisServer, startS3Server, waitFor, type RedisServerHandle } from '@cxr/devstack';
import { parseInstance } from '@cxr/dicom';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { createWorkerConnection } from '@cxr/platform';
import { loadConfig } from '../config.ts';
import { startOrthanc, type OrthancPeer } from '../interop/orthanc.test-support.ts';
import { Pseudonymizer } from '../privacy/pseudonym.ts';
import { createIngestService } from '../service.ts';
import { DicomwebPriorSource } from './dicomweb-prior-source.ts';
import { DimsePriorSource } from './dimse-prior-source.ts';
import { PriorFinder } from './prior-finder.ts';

/**
 * The prior look-up against a real Orthanc (Debian's, with its DICOMweb plugin) holding an earlier
 * study of the same patient: QIDO-RS + WADO-RS, C-FIND + C-GET, and, through the whole ingest
 * service, C-FIND + C-MOVE to ingest's own storage SCP. And a PACS that accepts the connection and
 * never answers, which the wait bound leaves behind.
 */
const missing = orthancMissing();
const PATIENT = 'PRIOR-INT-0001';
const logger = pino({ level: 'silent' });

let orthanc: OrthancPeer;
let prior: ChestStudy;
let otherPatient: ChestStudy;
const query = { patientId: PATIENT, from: '20200101', to: '20261201' };

describe.skipIf(missing !== undefined)('prior sources against Orthanc', () => {
  beforeAll(async () => {
    orthanc = await startOrthanc({
      // A DICOMweb server entry is what makes the helper load the plugin; it is not used here.
      ingestStow: { url: 'http://127.0.0.1:9/dicomweb/' },
      extraConfig: {
        DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true },
        DicomAlwaysAllowFind: true,
        DicomAlwaysAllowGet: true,
      },
    });
    prior = makeChestStudy({ seed: 7101, size: 256, patientId: PATIENT, studyDate: '20250310' });
    otherPatient = makeChestStudy({ seed: 7102, size: 256, patientId: 'SOMEONE-ELSE', studyDate: '20250311' });
    for (const s of [prior, otherPatient]) expect(await orthanc.upload(s.file), orthanc.log()).toBeDefined();
  }, 60_000);

  afterAll(async () => {
    await orthanc?.stop();
  });

  test('QIDO-RS finds the earlier study of the patient, and WADO-RS fetches it whole', async () => {
    const source = new DicomwebPriorSource({ name: 'orthanc-web', url: `${orthanc.httpUrl}/dicom-web/`, maxStudyBytes: 64 * 1024 * 1024 });
    const found = await source.find(query, new AbortController().signal);
    expect(found).toEqual([{ studyInstanceUid: prior.studyInstanceUid, studyDate: '20250310', modalities: ['DX'], issuer: undefined, patientId: PATIENT }]);

    const files: Buffer[] = [];
    await source.retrieve(prior.studyInstanceUid, async (bytes) => void files.push(bytes), new AbortController().signal);
    expect(files).toHaveLength(1);
    expect(parseInstance(files[0]!).sopInstanceUid).toBe(prior.sopInstanceUid);
  });

  test('C-FIND finds the earlier study of the patient, and C-GET fetches it whole', async () => {
    const source = new DimsePriorSource({ name: 'orthanc-dimse', host: '127.0.0.1', port: orthanc.dicomPort, calledAeTitle: orthanc.aeTitle, callingAeTitle: 'PRIORSCU', retrieve: 'get' });
    const found = await source.find(query, new AbortController().signal);
    expect(found.map((s) => [s.studyInstanceUid, s.studyDate, s.modalities])).toEqual([[prior.studyInstanceUid, '20250310', ['DX']]]);

    const files: Buffer[] = [];
    await source.retrieve(prior.studyInstanceUid, async (bytes) => void files.push(bytes), new AbortController().signal);
    expect(files).toHaveLength(1);
    expect(parseInstance(files[0]!).sopInstanceUid).toBe(prior.sopInstanceUid);
  });

  test('a study range that ends before the prior finds nothing', async () => {
    const source = new DicomwebPriorSource({ name: 'orthanc-web', url: `${orthanc.httpUrl}/dicom-web/`, maxStudyBytes: 64 * 1024 * 1024 });
    expect(await source.find({ ...query, to: '20250301' }, new AbortController().signal)).toEqual([]);
  });
});

/** A peer that accepts TCP connections and never sends a byte (a hung PACS). */
async function silentPeer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('a PACS that accepts the connection and never answers is given up at the wait bound, over DICOMweb and over DIMSE', async () => {
  const peer = await silentPeer();
  try {
    const finder = new PriorFinder({
      index: { patientStudies: async () => new Map(), hasRadiographs: async () => true, markRetrievedPrior: async () => {} },
      sources: [
        new DicomwebPriorSource({ name: 'hung-web', url: `http://127.0.0.1:${peer.port}/dicom-web/`, maxStudyBytes: 1024 }),
        new DimsePriorSource({ name: 'hung-dimse', host: '127.0.0.1', port: peer.port, calledAeTitle: 'HUNG', callingAeTitle: 'PRIORSCU', retrieve: 'get' }, () => 1000),
      ],
      settings: { max: 2, maxAgeDays: 365, waitMs: 1000 },
      accept: async () => {},
      logger,
    });
    const outcome = await finder.find({ studyInstanceUid: '1.2.3', studyDate: '20261201', patientId: PATIENT });
    expect(outcome).toEqual({
      priors: [],
      unanswered: [
        { source: 'hung-web', reason: 'timed-out', detail: 'no answer within 1 s' },
        { source: 'hung-dimse', reason: 'timed-out', detail: 'no answer within 1 s' },
      ],
    });
  } finally {
    await peer.close();
  }
}, 20_000);

describe.skipIf(missing !== undefined)('the ingest service with Orthanc as the PACS of priors (C-FIND, then C-MOVE to our SCP)', () => {
  let dir: string;
  let redis: RedisServerHandle;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingest-priors-'));
    redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a new study of the patient brings the earlier one in from Orthanc, queues its analysis first, marks it as a prior, and names it in study-received', async () => {
    const prefix = `priors-int-${process.pid}`;
    const buckets = { BUCKET_ORIGINALS: `orig-${process.pid}`, BUCKET_DERIVED: `derived-${process.pid}`, BUCKET_REPORTS: `reports-${process.pid}` };
    const s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets) });
    const dimsePort = await freePort();
    // Orthanc needs our SCP's address (its C-MOVE destination) and we need its port: its ports come first.
    const pacs = await startOrthanc({ ingestDimse: { aeTitle: 'INGEST', host: '127.0.0.1', port: dimsePort }, extraConfig: { DicomAlwaysAllowFind: true, DicomAlwaysAllowMove: true } });
    const secret = 'priors-int-test-pseudonym-secret';
    const config = loadConfig({
      REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: prefix, ...buckets, PSEUDONYM_SECRET: secret,
      INGEST_DIMSE_PORT: String(dimsePort), INGEST_HTTP_PORT: String(await freePort()), INGEST_STUDY_STABLE_MS: '300',
      INGEST_PRIORS_WAIT_MS: '20000',
      INGEST_PRIORS_PACS: JSON.stringify([{ name: 'orthanc', kind: 'dimse', host: '127.0.0.1', port: pacs.dicomPort, aeTitle: pacs.aeTitle, retrieve: 'move' }]),
    });
    const ingest = createIngestService(config, logger);
    const connection = createWorkerConnection(redis.url);
    const events = new Queue(QUEUE_NAMES.reportEvents, { connection, prefix });
    const analysis = new Queue(QUEUE_NAMES.analysis, { connection, prefix });
    try {
      await ingest.start();
      const earlier = makeChestStudy({ seed: 7201, size: 256, patientId: 'PRIOR-INT-0002', studyDate: '20251102' });
      const current = makeChestStudy({ seed: 7202, size: 256, patientId: 'PRIOR-INT-0002', studyDate: '20261201' });
      expect(await pacs.upload(earlier.file)).toBeDefined();
      const sent = await pacs.upload(current.file);
      // Only the current study is sent to us; the earlier one stays in the PACS until we ask for it.
      expect((await pacs.storeToModality([sent!.id])).status, pacs.log()).toBe(200);

      const keys = new Pseudonymizer(secret);
      const received = await waitFor('study-received of the current study', async () => {
        const jobs = await events.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
        return jobs.map((j) => reportEventSchema.parse(j.data)).find((e): e is StudyReceivedEvent => e.type === 'study-received' && e.studyKey === keys.studyKey(current.studyInstanceUid));
      }, 30_000);
      expect(received.priors).toEqual({ priors: [{ studyKey: keys.studyKey(earlier.studyInstanceUid), studyDate: '2025-11-02', source: 'orthanc' }], unanswered: [] });
      expect(received.role).toBeUndefined();
      // The prior's own study-received says it is one (analysed for the comparison, on nobody's worklist), and has no look-up of its own.
      const all = (await events.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed'])).map((j) => reportEventSchema.parse(j.data));
      const priorReceived = all.find((e): e is StudyReceivedEvent => e.type === 'study-received' && e.studyKey === keys.studyKey(earlier.studyInstanceUid));
      expect(priorReceived).toMatchObject({ role: 'prior', eligible: true });
      expect(priorReceived!.priors).toBeUndefined();

      const requests = (await analysis.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed'], 0, -1, true)).map((j) => analysisRequestSchema.parse(j.data));
      // Oldest first: the prior's analysis was queued before the current study's.
      expect(requests.map((r) => r.studyKey)).toEqual([keys.studyKey(earlier.studyInstanceUid), keys.studyKey(current.studyInstanceUid)]);
    } finally {
      await events.close();
      await analysis.close();
      connection.disconnect();
      await ingest.stop();
      await pacs.stop();
      await s3.stop();
    }
  }, 90_000);
});
