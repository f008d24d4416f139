import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, finalReportJobSchema, reportEventSchema } from '@cxr/contracts';
import { generateUid, readFileMetaInformation, SopClass, writeTextSr } from '@cxr/dicom';
import { dcmsend, freePort, startRedisServer, startS3Server, stowRs, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore, accessionKeyOf, createWorkerConnection } from '@cxr/platform';
import { loadConfig } from '../config.ts';
import { createIngestService, type IngestService } from '../service.ts';

// A radiologist's report arriving at ingest as a DICOM text SR, over DIMSE (DCMTK's dcmsend) and
// STOW-RS, with a real redis-server and s3rver: ingest keeps the SR as received and hands its text
// to the report service on the final-reports queue instead of treating it as part of the study.

let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let service: IngestService;
let objects: ObjectStore;
let urls: { http: string; dimse: { host: string; port: number; calledAeTitle: string } };
const prefix = `ingest-sr-int-${process.pid}`;
const buckets = { BUCKET_ORIGINALS: `orig-sr-${process.pid}`, BUCKET_DERIVED: `derived-sr-${process.pid}`, BUCKET_REPORTS: `reports-sr-${process.pid}` };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-sr-int-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  const config = loadConfig({
    REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: prefix, ...buckets,
    INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()), INGEST_STUDY_STABLE_MS: '300',
  });
  service = createIngestService(config, pino({ level: 'silent' }));
  const address = await service.start();
  urls = { http: `http://127.0.0.1:${address.http.port}`, dimse: { host: '127.0.0.1', port: address.dimse.port, calledAeTitle: 'INGEST' } };
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function jobs(name: string) {
  const connection = createWorkerConnection(redis.url);
  const queue = new Queue(name, { connection, prefix });
  try {
    return await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

const sections = [
  { heading: 'Findings', texts: ['No pleural effusion.', 'No pneumothorax.'] },
  { heading: 'Impression', texts: ['Normal chest radiograph.'] },
];

describe('a text SR arriving at ingest', () => {
  test('a verified Basic Text SR sent over DIMSE is stored as received and its text queued for the second read, not analysed', async () => {
    const ids = { studyInstanceUid: generateUid(), seriesInstanceUid: generateUid(), sopInstanceUid: generateUid() };
    const bytes = writeTextSr({ ...ids, accessionNumber: 'ACC-SR-1', sections });
    const file = join(dir, 'report-sr.dcm');
    writeFileSync(file, bytes);
    await dcmsend([file], urls.dimse);

    const job = await waitFor('the final-report job', async () => (await jobs(QUEUE_NAMES.finalReports)).find((j) => j.id === `dicom-sr.${ids.sopInstanceUid}`), 15_000);
    const stored = await objects.list(buckets.BUCKET_ORIGINALS, `studies/${ids.studyInstanceUid}/`);
    expect(stored).toHaveLength(1);
    // The job names the stored SR; its text and accession number stay out of Redis.
    expect(finalReportJobSchema.parse(job.data)).toMatchObject({ source: 'dicom-sr', studyInstanceUid: ids.studyInstanceUid, sopInstanceUid: ids.sopInstanceUid, objectKey: stored[0] });
    expect(JSON.stringify(job.data)).not.toMatch(/ACC-SR-1|pleural|DOE/);
    // A DIMSE receiver writes its own file meta header: the data set is kept byte for byte.
    const dataSet = (b: Buffer) => b.subarray(readFileMetaInformation(b).dataSetOffset);
    expect(dataSet(await objects.get(buckets.BUCKET_ORIGINALS, stored[0]!)).equals(dataSet(bytes))).toBe(true);
    // Not an instance of the study: no completion, so no analysis or study-received for it.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await jobs(QUEUE_NAMES.studyCompletion)).filter((j) => j.id?.includes(ids.studyInstanceUid))).toEqual([]);
  });

  test('an unverified SR over STOW-RS is stored and stays an instance of its study, not handed over; an Enhanced SR is handed over', async () => {
    const unverified = { studyInstanceUid: generateUid(), seriesInstanceUid: generateUid(), sopInstanceUid: generateUid() };
    const enhanced = { studyInstanceUid: generateUid(), seriesInstanceUid: generateUid(), sopInstanceUid: generateUid() };
    const response = await stowRs(urls.http, [
      writeTextSr({ ...unverified, verification: 'UNVERIFIED', sections }),
      writeTextSr({ ...enhanced, sopClassUid: SopClass.EnhancedSR, sections }),
    ]);
    expect(response.status).toBe(200);
    await waitFor('the enhanced SR job', async () => (await jobs(QUEUE_NAMES.finalReports)).find((j) => j.id === `dicom-sr.${enhanced.sopInstanceUid}`), 15_000);
    expect((await jobs(QUEUE_NAMES.finalReports)).find((j) => j.id === `dicom-sr.${unverified.sopInstanceUid}`)).toBeUndefined();
    expect(await objects.list(buckets.BUCKET_ORIGINALS, `studies/${unverified.studyInstanceUid}/`)).toHaveLength(1);
    // As before the second read: a non-image study, reported as not eligible.
    const received = await waitFor('study-received of the unverified SR', async () => {
      const events = (await jobs(QUEUE_NAMES.reportEvents)).map((j) => reportEventSchema.parse(j.data));
      return events.find((e) => e.type === 'study-received' && e.studyInstanceUid === unverified.studyInstanceUid);
    }, 20_000);
    expect(received).toMatchObject({ eligible: false });
  });

  test("an image's accession number goes to the report service in study-received, as its hash", async () => {
    const study = makeChestStudy({ seed: 21, size: 256 });
    expect((await stowRs(urls.http, [study.file])).status).toBe(200);
    const received = await waitFor('study-received', async () => {
      const events = (await jobs(QUEUE_NAMES.reportEvents)).map((j) => reportEventSchema.parse(j.data));
      return events.find((e) => e.type === 'study-received' && e.studyInstanceUid === study.studyInstanceUid);
    }, 20_000);
    // A hash of it: the number itself is in no queue job.
    expect(received).toMatchObject({ type: 'study-received', accessionKey: accessionKeyOf(study.accessionNumber) });
    expect(JSON.stringify(received)).not.toContain(study.accessionNumber);
  });
});
