import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import sharp from 'sharp';
import { ANALYSIS_INPUT_LONG_SIDE, QUEUE_NAMES, analysisRequestSchema, decodeAnalysisInput, reportEventSchema } from '@cxr/contracts';
import { runDcmtk } from '@cxr/dcmtk';
import { dcmsend, freePort, startRedisServer, startS3Server, stowRs, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore, createWorkerConnection, parseMultipartRelated, parseMultipartRelatedType } from '@cxr/platform';
import { parseInstance } from '@cxr/dicom';
import { NEEDS_SHARED, corpus, sharedSamplesDir } from '@cxr/test-corpus';
import { loadConfig } from './config.ts';
import { createIngestService, type IngestService } from './service.ts';

/** The ingest service in-process against a real redis-server, s3rver and DCMTK senders. */
const SHARED = sharedSamplesDir();
let dir: string;
let redis: RedisServerHandle;
let redisPort: number;
let s3: S3ServerHandle;
let service: IngestService;
let urls: { http: string; dimse: { host: string; port: number; calledAeTitle: string } };
let objects: ObjectStore;
const prefix = `ingest-int-${process.pid}`;
const buckets = { BUCKET_ORIGINALS: `orig-${process.pid}`, BUCKET_DERIVED: `derived-${process.pid}`, BUCKET_REPORTS: `reports-${process.pid}` };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-int-'));
  redisPort = await freePort();
  redis = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
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

async function queuedJobs(name: string) {
  const connection = createWorkerConnection(redis.url);
  const queue = new Queue(name, { connection, prefix });
  try {
    return await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
  } finally {
    await queue.close();
    connection.disconnect(); // a queue does not close a connection it was given
  }
}

describe('ingest service', () => {
  test('stores a STOW-RS instance byte for byte and queues one analysis for its study', async () => {
    const study = makeChestStudy({ seed: 7, size: 256, priority: 'STAT' });
    const first = await stowRs(urls.http, [study.file]);
    expect(first.status).toBe(200);
    const again = await stowRs(urls.http, [study.file]);
    expect(again.status).toBe(200);

    const keys = await objects.list(buckets.BUCKET_ORIGINALS, `studies/${study.studyInstanceUid}/`);
    expect(keys).toHaveLength(1);
    expect((await objects.get(buckets.BUCKET_ORIGINALS, keys[0]!)).equals(study.file)).toBe(true);

    const jobs = await waitFor('the analysis job', async () => {
      const found = await queuedJobs(QUEUE_NAMES.analysis);
      return found.length > 0 ? found : undefined;
    }, 15_000);
    expect(jobs).toHaveLength(1);
    const request = analysisRequestSchema.parse(jobs[0]!.data);
    expect(request.priority).toBe('stat');
    expect(request.version).toBe(1);
    expect(jobs[0]!.opts.priority).toBe(1);
    // The worker's view is de-identified: no UID or patient identifier in the job.
    const serialised = JSON.stringify(request);
    expect(serialised).not.toContain(study.studyInstanceUid);
    expect(serialised).not.toContain(study.patient.id);
    // Its metadata too: the PS3.15 Basic Profile applied and recorded, UIDs replaced, names gone.
    const metadata = await objects.getJson(buckets.BUCKET_DERIVED, request.images[0]!.metadataKey!) as Record<string, { Value?: unknown[] }>;
    expect(metadata['00120062']?.Value).toEqual(['YES']);
    expect(metadata['00120064']?.Value?.[0]).toMatchObject({ '00080100': { Value: ['113100'] } });
    expect(metadata['00080060']?.Value).toEqual(['DX']);
    expect(metadata['0020000D']?.Value?.[0]).toMatch(/^2\.25\.\d+$/);
    const metadataText = JSON.stringify(metadata);
    for (const phi of [study.studyInstanceUid, study.patient.id, study.patient.name]) expect(metadataText).not.toContain(phi);
    const presentation = await objects.stat(buckets.BUCKET_DERIVED, request.images[0]!.imageKey);
    expect(presentation?.size).toBeGreaterThan(1000);
    // The worker's small raw input is the same image: same aspect, the long side the reference
    // model takes (INGEST_ANALYSIS_INPUT_SIZE's default), same pixels.
    const image = request.images[0]!;
    // The presentation image's pixel size, from the header's Pixel Spacing (the report measures sizes with it).
    expect(image.pixelSpacingMm).toBeCloseTo(study.phantom.pixelSpacingMm * (study.phantom.width / image.width), 4);
    const input = decodeAnalysisInput(await objects.get(buckets.BUCKET_DERIVED, image.analysisInputKey!));
    expect(Math.max(input.width, input.height)).toBe(ANALYSIS_INPUT_LONG_SIDE);
    expect(input.width / input.height).toBeCloseTo(image.width / image.height, 2);
    const presentationPixels = await sharp(await objects.get(buckets.BUCKET_DERIVED, image.imageKey))
      .resize(input.width, input.height, { fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const reference = new Uint16Array(presentationPixels.buffer, presentationPixels.byteOffset, input.data.length);
    let difference = 0;
    for (let i = 0; i < input.data.length; i++) difference += Math.abs(input.data[i]! - reference[i]!);
    expect(difference / input.data.length / 65535).toBeLessThan(0.01);
  });

  test('keeps apart, and accepts, two different objects that claim the same SOP Instance UID', async () => {
    const study = makeChestStudy({ seed: 8, size: 256 });
    const altered = Buffer.from(study.file);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0xff; // a different pixel value
    expect((await stowRs(urls.http, [study.file])).status).toBe(200);
    expect((await stowRs(urls.http, [altered])).status).toBe(200);
    const keys = await objects.list(buckets.BUCKET_ORIGINALS, `studies/${study.studyInstanceUid}/`);
    expect(keys).toHaveLength(2);
  });

  test('stores the same instance once whether it comes by DIMSE or by STOW-RS', async () => {
    const study = makeChestStudy({ seed: 10, size: 256 });
    const file = join(dir, 'both-ways.dcm');
    writeFileSync(file, study.file);
    await dcmsend([file], urls.dimse);
    expect((await stowRs(urls.http, [study.file])).status).toBe(200);
    const keys = await objects.list(buckets.BUCKET_ORIGINALS, `studies/${study.studyInstanceUid}/`);
    expect(keys).toHaveLength(1);
  });

  test('carries the order\'s clinical question in the analysis request, scrubbed of the name and date it held', async () => {
    const probe = makeChestStudy({ seed: 12, size: 64 });
    const family = probe.patient.name.split('^')[1]!;
    const study = makeChestStudy({ seed: 12, size: 256, order: { reason: `${family} 02/11/2026 ? pneumothorax after line`, history: 'SOB, fever' } });
    expect((await stowRs(urls.http, [study.file])).status).toBe(200);
    const job = await waitFor('the analysis job with an indication', async () => {
      const found = await queuedJobs(QUEUE_NAMES.analysis);
      return found.find((j) => typeof j.data.indication === 'string' && j.data.indication.includes('pneumothorax'));
    }, 15_000);
    const request = analysisRequestSchema.parse(job.data);
    expect(request.indication).toBe('[removed] ? pneumothorax after line; SOB, fever');
    const serialised = JSON.stringify(request);
    for (const phi of [family, '02/11/2026', study.patient.id, study.accessionNumber]) expect(serialised).not.toContain(phi);
  });

  test('keeps the bytes STOW-RS stored first when DIMSE sends the same instance again, so the RetrieveURL serves them (issue 16, finding 6)', async () => {
    const study = makeChestStudy({ seed: 12, size: 256 });
    const stored = await stowRs(urls.http, [study.file]);
    expect(stored.status).toBe(200);
    const retrieveUrl = (stored.body as Record<string, { Value: Record<string, { Value: string[] }>[] }>)['00081199']!.Value[0]!['00081190']!.Value[0]!;
    const file = join(dir, 'stow-then-dimse.dcm');
    writeFileSync(file, study.file);
    await dcmsend([file], urls.dimse); // its file meta header is ingest's own, with the calling AE title
    const res = await fetch(retrieveUrl);
    expect(res.status).toBe(200);
    const { boundary } = parseMultipartRelatedType(res.headers.get('content-type') ?? undefined);
    expect(parseMultipartRelated(Buffer.from(await res.arrayBuffer()), boundary, 2)[0]!.body.equals(study.file)).toBe(true);
  });

  async function refusesMalformedInstance(truncated: Buffer): Promise<void> {
    const res = await stowRs(urls.http, [truncated]);
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.body)).toContain('"00081197"');
    const bad = await fetch(`${urls.http}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=x' }, body: 'garbage' });
    expect(bad.status).toBe(400);
    const wrongType = await fetch(`${urls.http}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(415);
  }

  test('answers 409 with a failure reason for a malformed instance, and 400 for a malformed body', async () => {
    await refusesMalformedInstance(corpus().read('mr-truncated.dcm'));
  });

  test.skipIf(!SHARED)(`answers 409 with a failure reason for the shared truncated MR ${NEEDS_SHARED}`, async () => {
    await refusesMalformedInstance(readFileSync(join(SHARED!, 'MR_truncated.dcm')));
  });

  async function reportsNonImageStudy(file: string): Promise<void> {
    const { studyInstanceUid } = parseInstance(readFileSync(file));
    await dcmsend([file], urls.dimse);
    const events = await waitFor('the study-received event', async () => {
      const found = (await queuedJobs(QUEUE_NAMES.reportEvents))
        .map((j) => reportEventSchema.parse(j.data))
        .filter((e) => e.type === 'study-received' && !e.eligible && e.studyInstanceUid === studyInstanceUid);
      return found.length > 0 ? found : undefined;
    }, 5_000); // far less than the 5-minute fallback: the association end triggered it
    expect(events[0]!.type === 'study-received' && events[0]!.ineligibleReasons.join(' ')).toMatch(/no pixel data/);
  }

  test('completes a DIMSE study when its association is released and reports the non-image study as not eligible', async () => {
    await reportsNonImageStudy(corpus().path('sr-basic-text.dcm'));
  });

  test.skipIf(!SHARED)(`completes the shared SR's DIMSE study on release and reports it as not eligible ${NEEDS_SHARED}`, async () => {
    await reportsNonImageStudy(join(SHARED!, 'reportsi.dcm'));
  });

  test('tells senders to retry while Redis is down, and recovers when it is back', async () => {
    const study = makeChestStudy({ seed: 9, size: 256 });
    const file = join(dir, 'retry.dcm');
    writeFileSync(file, study.file);
    await redis.stop();
    try {
      const stow = await stowRs(urls.http, [study.file]);
      expect(stow.status).toBe(503);
      // storescu exits non-zero on a failed C-STORE (dcmsend only reports it in its summary).
      await expect(runDcmtk('storescu', ['-aec', 'INGEST', urls.dimse.host, String(urls.dimse.port), file])).rejects.toMatchObject({ code: expect.any(Number) });
    } finally {
      redis = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
    }
    await waitFor('ingest to answer again', async () => ((await stowRs(urls.http, [study.file])).status === 200 ? true : undefined), 20_000, 500);
    await dcmsend([file], urls.dimse);
  });
});
