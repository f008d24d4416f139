/**
 * What the fuzz run needs around it: the sample files it mutates (the generated test corpus, plus
 * a synthetic chest phantom) and an ingest service in this process against a real redis-server and
 * s3rver on free ports, in a temporary folder removed afterwards. Used by the fuzz test and by
 * `npm run fuzz`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { readFileMetaInformation } from '@cxr/dicom';
import { freePort, startRedisServer, startS3Server } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { ObjectStore } from '@cxr/platform';
import { loadConfig } from '../config.ts';
import { createIngestService } from '../service.ts';
import type { FuzzSource, FuzzTarget } from './fuzz-run.ts';

/** Sample files larger than this are left out: the run is about many files, not big ones. */
const MAX_SOURCE_BYTES = 700 * 1024;
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

interface ManifestCase {
  name: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid?: string;
}

function dataSetOffsetOf(bytes: Buffer): number {
  try {
    return readFileMetaInformation(bytes).dataSetOffset;
  } catch {
    return 0;
  }
}

/** The corpus files (from its manifest) and a chest phantom, each with what DIMSE sends it as. */
export function loadFuzzSources(corpusDir: string): FuzzSource[] {
  const manifest = JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] };
  const sources: FuzzSource[] = [];
  for (const c of manifest.cases) {
    const bytes = readFileSync(join(corpusDir, c.name));
    if (bytes.length > MAX_SOURCE_BYTES) continue;
    sources.push({
      name: c.name, bytes, sopInstanceUid: c.sopInstanceUid, dataSetOffset: dataSetOffsetOf(bytes),
      context: { abstractSyntax: c.sopClassUid, transferSyntax: c.transferSyntaxUid ?? IMPLICIT_VR_LITTLE_ENDIAN },
    });
  }
  const chest = makeChestStudy({ seed: 4242, size: 256 });
  sources.push({
    name: 'chest-phantom.dcm', bytes: chest.file, sopInstanceUid: chest.sopInstanceUid, dataSetOffset: dataSetOffsetOf(chest.file),
    context: { abstractSyntax: '1.2.840.10008.5.1.4.1.1.1.1', transferSyntax: '1.2.840.10008.1.2.1' },
  });
  return sources;
}

/** Starts Redis, s3rver and ingest, runs `fn` against them, and stops everything. */
export async function withIngestStack<T>(fn: (target: FuzzTarget) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-fuzz-'));
  const buckets = { BUCKET_ORIGINALS: 'fuzz-originals', BUCKET_DERIVED: 'fuzz-derived', BUCKET_REPORTS: 'fuzz-reports' };
  const redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  try {
    const s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), thread: true });
    try {
      const config = loadConfig({
        REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: 'fuzz', ...buckets,
        INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()),
        // No completion runs during the run (it is about receiving); DIMSE is aborted, not released.
        INGEST_STUDY_STABLE_MS: String(60 * 60_000),
      });
      const service = createIngestService(config, pino({ level: 'silent' }));
      const address = await service.start();
      try {
        return await fn({
          http: `http://127.0.0.1:${address.http.port}`,
          dimse: { host: '127.0.0.1', port: address.dimse.port, calledAeTitle: config.dimse.aeTitle },
          objects: new ObjectStore(config.s3),
          originalsBucket: config.buckets.originals,
        });
      } finally {
        await service.stop();
      }
    } finally {
      await s3.stop();
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
