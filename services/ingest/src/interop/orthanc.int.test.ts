import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, analysisRequestSchema } from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore, createWorkerConnection } from '@cxr/platform';
import { NEEDS_SHARED, corpus, sharedSamplesDir } from '@cxr/test-corpus';
import { loadConfig } from '../config.ts';
import { Pseudonymizer } from '../privacy/pseudonym.ts';
import { createIngestService, type IngestService } from '../service.ts';
import { startOrthanc, type OrthancPeer, type OrthancUpload } from './orthanc.test-support.ts';

/**
 * Orthanc (Debian's 1.10 with the DICOMweb plugin) as the sending PACS, pushing to the ingest
 * service in-process (real redis-server and s3rver) by DIMSE C-STORE and by STOW-RS. Each test
 * gets its own s3rver, buckets, queue prefix, ports and Orthanc; redis-server is shared.
 */
const API_KEY = 'orthanc-interop-test-key';
const PSEUDONYM_SECRET = 'orthanc-interop-test-pseudonym-secret';

/** A folder of samples to push through Orthanc: the generated corpus, or the shared files. */
interface SampleSet {
  dir: string;
  files: string[];
  /**
   * Samples Orthanc accepts but our ingest refuses when it receives the file itself (STOW-RS):
   * their Media Storage SOP Instance UID (0002,0003) differs from their SOP Instance UID
   * (0008,0018). Over DIMSE the file meta header is ours, so they are stored.
   */
  refusedOverStow: Set<string>;
  /** Other samples Orthanc accepts that our ingest refuses over STOW-RS (left out of that push). */
  alsoRefusedOverStow: Set<string>;
  /** One sample every path accepts. */
  good: string;
  /** At least this many samples Orthanc must accept. */
  minimum: number;
}

const dcmFilesIn = (folder: string) => readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort();
const corpusSet = (): SampleSet => ({
  dir: corpus().dir, files: dcmFilesIn(corpus().dir), refusedOverStow: new Set(['rtplan-meta-mismatch.dcm']),
  // Orthanc (DCMTK) guesses the missing transfer syntax and takes it; the file itself is refused.
  alsoRefusedOverStow: new Set(['meta-missing-transfer-syntax.dcm']), good: 'ct-signed-rescale.dcm', minimum: 20,
});
const SHARED = sharedSamplesDir();
const sharedSet = (): SampleSet => ({ dir: SHARED!, files: dcmFilesIn(SHARED!), refusedOverStow: new Set(['rtplan.dcm']), alsoRefusedOverStow: new Set(), good: 'CT_small.dcm', minimum: 10 });

let dir: string;
let redis: RedisServerHandle;
let testNumber = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-orthanc-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  ingest: IngestService;
  orthanc: OrthancPeer;
  objects: ObjectStore;
  originals: string;
  prefix: string;
  s3: S3ServerHandle;
  /** Stops s3rver and starts it again on the same port and directory. */
  restartS3(): Promise<void>;
  stopS3(): Promise<void>;
}

/** Our ingest with its own s3rver, buckets and queue prefix, and an Orthanc that pushes to it. */
async function setUp(options: { orthancApiKey?: string } = {}): Promise<Setup> {
  const n = (testNumber += 1);
  const testDir = join(dir, `t${n}`);
  const prefix = `orthanc-int-${process.pid}-${n}`;
  const buckets = { BUCKET_ORIGINALS: `orig-${process.pid}-${n}`, BUCKET_DERIVED: `derived-${process.pid}-${n}`, BUCKET_REPORTS: `reports-${process.pid}-${n}` };
  const s3Port = await freePort();
  const startS3 = () => startS3Server({ port: s3Port, dir: join(testDir, 's3'), buckets: Object.values(buckets) });
  let s3: S3ServerHandle | undefined = await startS3();
  cleanups.push(async () => {
    await s3?.stop();
    rmSync(testDir, { recursive: true, force: true });
  });
  const config = loadConfig({
    REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: prefix, ...buckets,
    INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()),
    INGEST_STUDY_STABLE_MS: '300', INGEST_STOW_API_KEYS: `orthanc:${API_KEY}`, PSEUDONYM_SECRET,
  });
  const ingest = createIngestService(config, pino({ level: 'silent' }));
  const address = await ingest.start();
  cleanups.push(() => ingest.stop());
  const orthanc = await startOrthanc({
    ingestDimse: { aeTitle: config.dimse.aeTitle, host: address.dimse.host, port: address.dimse.port },
    ingestStow: { url: `http://127.0.0.1:${address.http.port}/dicomweb/`, apiKey: options.orthancApiKey ?? API_KEY },
  });
  cleanups.push(() => orthanc.stop());
  const objects = new ObjectStore(config.s3);
  return {
    ingest, orthanc, objects, originals: buckets.BUCKET_ORIGINALS, prefix, s3,
    async stopS3() {
      await s3?.stop();
      s3 = undefined;
    },
    async restartS3() {
      await s3?.stop();
      s3 = await startS3();
    },
  };
}

interface UploadedSample extends OrthancUpload {
  name: string;
  file: Buffer;
}

/** Uploads every sample; returns those Orthanc stored as new instances (not refused, not duplicates). */
async function uploadSamples(orthanc: OrthancPeer, set: SampleSet): Promise<UploadedSample[]> {
  const uploaded: UploadedSample[] = [];
  for (const name of set.files) {
    const file = readFileSync(join(set.dir, name));
    const upload = await orthanc.upload(file);
    // Several samples share one SOP Instance UID (the same MR in other encodings): Orthanc keeps the first.
    if (upload?.status === 'Success') uploaded.push({ ...upload, name, file });
  }
  return uploaded;
}

/** Every original stored for these studies, by key. */
async function storedOriginals(setup: Setup, studyUids: Iterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for (const study of new Set(studyUids)) keys.push(...(await setup.objects.list(setup.originals, `studies/${study}/`)));
  return keys.sort();
}

function keyFor(keys: string[], sample: OrthancUpload): string | undefined {
  return keys.find((k) => k.startsWith(`studies/${sample.studyInstanceUid}/`) && k.includes(`/instances/${sample.sopInstanceUid}/`));
}

async function analysisJobsFor(setup: Setup, studyInstanceUid: string) {
  const studyKey = new Pseudonymizer(PSEUDONYM_SECRET).studyKey(studyInstanceUid);
  // A connection we pass in is ours to close: Queue.close() leaves it open.
  const connection = createWorkerConnection(redis.url);
  const queue = new Queue(QUEUE_NAMES.analysis, { connection, prefix: setup.prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
    return jobs.map((j) => analysisRequestSchema.parse(j.data)).filter((r) => r.studyKey === studyKey);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Pushing a whole sample set through Orthanc, by DIMSE and by STOW-RS. */
function sampleSetTests(sampleSet: () => SampleSet): void {
  test('pushes every sample Orthanc accepts by DIMSE, and each one is stored', async () => {
    const set = sampleSet();
    const setup = await setUp();
    const samples = await uploadSamples(setup.orthanc, set);
    expect(samples.length).toBeGreaterThanOrEqual(set.minimum);

    const answer = await setup.orthanc.storeToModality(samples.map((s) => s.id));
    expect(answer.status, setup.orthanc.log()).toBe(200);
    expect(answer.body).toMatchObject({ InstancesCount: samples.length, FailedInstancesCount: 0, RemoteAet: 'INGEST' });

    const keys = await storedOriginals(setup, samples.map((s) => s.studyInstanceUid));
    expect(keys).toHaveLength(samples.length);
    for (const sample of samples) expect(keyFor(keys, sample), sample.name).toBeDefined();
  }, 60_000);

  test('pushes the same samples by STOW-RS, and each stored object is byte for byte the file given to Orthanc', async () => {
    const set = sampleSet();
    const setup = await setUp();
    const samples = (await uploadSamples(setup.orthanc, set)).filter((s) => !set.refusedOverStow.has(s.name) && !set.alsoRefusedOverStow.has(s.name));

    const answer = await setup.orthanc.stowToServer(samples.map((s) => s.id));
    expect(answer.status, setup.orthanc.log()).toBe(200);

    const keys = await storedOriginals(setup, samples.map((s) => s.studyInstanceUid));
    expect(keys).toHaveLength(samples.length);
    for (const sample of samples) {
      const key = keyFor(keys, sample);
      expect(key, sample.name).toBeDefined();
      expect((await setup.objects.get(setup.originals, key!)).equals(sample.file), sample.name).toBe(true);
    }
  }, 60_000);

  test('refuses over STOW-RS a file whose meta header names another SOP Instance UID, and Orthanc reports the partial failure', async () => {
    const set = sampleSet();
    const setup = await setUp();
    const samples = await uploadSamples(setup.orthanc, set);
    const refused = samples.filter((s) => set.refusedOverStow.has(s.name));
    const good = samples.find((s) => s.name === set.good)!;
    expect(refused).toHaveLength(set.refusedOverStow.size);

    const answer = await setup.orthanc.stowToServer([good.id, ...refused.map((s) => s.id)]);
    expect(answer.status).not.toBe(200);
    expect(setup.orthanc.log()).toMatch(/only able to receive 1 instances out of 2/);
    expect(await storedOriginals(setup, refused.map((s) => s.studyInstanceUid))).toEqual([]);
    expect(keyFor(await storedOriginals(setup, [good.studyInstanceUid]), good)).toBeDefined();
  }, 60_000);
}

describe('Orthanc as the sending PACS, with the generated corpus', () => {
  sampleSetTests(corpusSet);
});

describe.skipIf(!SHARED)(`Orthanc as the sending PACS, with the shared samples ${NEEDS_SHARED}`, () => {
  sampleSetTests(sharedSet);
});

describe('Orthanc as the sending PACS', () => {
  test.each(['DIMSE', 'STOW-RS'] as const)('queues an analysis for a synthetic chest radiograph pushed by %s', async (protocol) => {
    const setup = await setUp();
    const study = makeChestStudy({ seed: protocol === 'DIMSE' ? 21 : 22, size: 256 });
    const upload = await setup.orthanc.upload(study.file);
    expect(upload?.status).toBe('Success');

    const answer = protocol === 'DIMSE' ? await setup.orthanc.storeToModality([upload!.id]) : await setup.orthanc.stowToServer([upload!.id]);
    expect(answer.status, setup.orthanc.log()).toBe(200);

    const jobs = await waitFor('the analysis job', async () => {
      const found = await analysisJobsFor(setup, study.studyInstanceUid);
      return found.length > 0 ? found : undefined;
    }, 20_000);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.images).toHaveLength(1);
    expect(JSON.stringify(jobs[0])).not.toContain(study.studyInstanceUid);
  }, 60_000);

  test('refuses a STOW-RS push with the wrong API key, Orthanc reports the HTTP failure, and nothing is stored', async () => {
    const setup = await setUp({ orthancApiKey: 'not-the-key' });
    const study = makeChestStudy({ seed: 23, size: 256 });
    const upload = await setup.orthanc.upload(study.file);

    const answer = await setup.orthanc.stowToServer([upload!.id]);
    expect(answer.status).not.toBe(200);
    expect(setup.orthanc.log()).toMatch(/HTTP status 401/);
    expect(await storedOriginals(setup, [study.studyInstanceUid])).toEqual([]);
  }, 60_000);

  test('fails the Orthanc store job while storage is down, and the same push succeeds once it is back', async () => {
    const setup = await setUp();
    const study = makeChestStudy({ seed: 24, size: 256 });
    const upload = await setup.orthanc.upload(study.file);

    await setup.stopS3();
    const failed = await setup.orthanc.storeToModality([upload!.id]);
    expect(failed.status).not.toBe(200);
    // 0xA700 Out of Resources: a failure status the PACS retries later.
    expect(setup.orthanc.log()).toMatch(/0xa700/i);

    await setup.restartS3();
    expect(await storedOriginals(setup, [study.studyInstanceUid])).toEqual([]);
    const retried = await setup.orthanc.storeToModality([upload!.id]);
    expect(retried.status, setup.orthanc.log()).toBe(200);
    expect(retried.body).toMatchObject({ InstancesCount: 1, FailedInstancesCount: 0 });
    expect(await storedOriginals(setup, [study.studyInstanceUid])).toHaveLength(1);
  }, 60_000);
});
