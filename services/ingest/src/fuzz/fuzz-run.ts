/**
 * The fuzz run: seeded mutations of sample files sent to a running ingest through both receivers,
 * STOW-RS (ten parts a request) and DIMSE (a raw association, one C-STORE at a time), side by side.
 * What it holds ingest to, and reports as violations:
 * - no HTTP 5xx but 503 (which senders retry), and every STOW-RS answer a well-formed one;
 * - every instance accepted is readable back: its RetrieveURL answers 200 with bytes that were sent,
 *   and a DIMSE-accepted data set is stored byte for byte under its hash;
 * - the ingest process stays up (the caller runs it; a crash ends the run) and its memory bounded
 *   (the peak RSS is reported; the caller sets the bound).
 */
import { createHash } from 'node:crypto';
import { encodeMultipartRelated, parseMultipartRelated, parseMultipartRelatedType, type ObjectStore } from '@cxr/platform';
import { mutatedFile } from './dicom-mutator.ts';
import { AssociationEndedError, RawStoreScu, type ProposedContext } from './raw-store-scu.ts';

export interface FuzzSource {
  name: string;
  bytes: Buffer;
  sopInstanceUid: string;
  /** For DIMSE: the SOP class and transfer syntax it is sent with, and where its data set starts. */
  context?: ProposedContext;
  dataSetOffset: number;
}

export interface FuzzTarget {
  http: string;
  dimse: { host: string; port: number; calledAeTitle: string };
  /** The originals bucket, read directly to check what DIMSE stored. */
  objects: ObjectStore;
  originalsBucket: string;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  sources: FuzzSource[];
  target: FuzzTarget;
  /** Called every so often with the files sent so far. */
  progress?: (sent: number) => void;
}

interface ReceiverCounts {
  sent: number;
  accepted: number;
  refused: number;
  unavailable: number;
}

export interface FuzzReport {
  seed: number;
  count: number;
  stow: ReceiverCounts & { requests: number; statuses: Record<string, number> };
  dimse: ReceiverCounts & { associations: number; statuses: Record<string, number> };
  readBack: number;
  /** When each receiver's last answer came, from the start (ms). */
  stowMs: number;
  dimseMs: number;
  violations: string[];
  peakRssBytes: number;
  ms: number;
}

const STOW_BATCH = 10;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, count, sources, target } = options;
  const started = Date.now();
  const report: FuzzReport = {
    seed, count,
    stow: { sent: 0, accepted: 0, refused: 0, unavailable: 0, requests: 0, statuses: {} },
    dimse: { sent: 0, accepted: 0, refused: 0, unavailable: 0, associations: 0, statuses: {} },
    readBack: 0, stowMs: 0, dimseMs: 0, violations: [], peakRssBytes: process.memoryUsage().rss, ms: 0,
  };
  const rssTimer = setInterval(() => (report.peakRssBytes = Math.max(report.peakRssBytes, process.memoryUsage().rss)), 100);
  const sentFiles = new Set<string>();
  const retrieveUrls: string[] = [];
  // Hashes and lengths only: holding the accepted data sets would make the run's own memory grow with its count.
  const dimseAccepted: { dataSetSha: string; length: number; index: number }[] = [];
  const violation = (what: string) => {
    if (report.violations.length < 50) report.violations.push(what);
  };
  const fileOf = (index: number) => {
    const source = sources[index % sources.length]!;
    return { source, ...mutatedFile(source.bytes, source.sopInstanceUid, seed, index) };
  };

  const stowLoop = async () => {
    let batch: { index: number; bytes: Buffer }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const parts = batch;
      batch = [];
      report.stow.requests += 1;
      const { body, contentType } = encodeMultipartRelated(parts.map((p) => p.bytes));
      let res: Response;
      try {
        res = await fetch(`${target.http}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' }, body, signal: AbortSignal.timeout(60_000) });
      } catch (error) {
        violation(`STOW-RS request with files ${parts.map((p) => p.index).join(',')} got no answer: ${(error as Error).message}`);
        return;
      }
      const text = await res.text();
      report.stow.statuses[res.status] = (report.stow.statuses[res.status] ?? 0) + 1;
      if (res.status >= 500 && res.status !== 503) violation(`STOW-RS answered ${res.status} for files ${parts.map((p) => p.index).join(',')}: ${text.slice(0, 200)}`);
      if (res.status === 503) {
        report.stow.unavailable += parts.length;
        return;
      }
      if (![200, 202, 409].includes(res.status)) return;
      let answer: Record<string, { Value?: Record<string, { Value?: string[] }>[] }>;
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        violation(`STOW-RS ${res.status} answer is not JSON`);
        return;
      }
      const stored = answer['00081199']?.Value ?? [];
      const failed = answer['00081198']?.Value ?? [];
      report.stow.accepted += stored.length;
      report.stow.refused += failed.length;
      if (stored.length + failed.length !== parts.length) violation(`STOW-RS answer lists ${stored.length + failed.length} of ${parts.length} parts`);
      for (const ref of stored) {
        const url = ref['00081190']?.Value?.[0];
        if (url) retrieveUrls.push(url);
        else violation('a stored instance without a RetrieveURL');
      }
    };
    for (let index = 0; index < count; index += 2) {
      const { bytes } = fileOf(index);
      sentFiles.add(sha256(bytes));
      batch.push({ index, bytes });
      report.stow.sent += 1;
      if (batch.length >= STOW_BATCH) await flush();
      if (index % 500 === 0) options.progress?.(report.stow.sent + report.dimse.sent);
    }
    await flush();
  };

  const dimseLoop = async () => {
    const contexts = uniqueContexts(sources);
    let scu: RawStoreScu | undefined;
    for (let index = 1; index < count; index += 2) {
      const { source, bytes, sopInstanceUid } = fileOf(index);
      if (!source.context) continue;
      const dataSet = bytes.subarray(Math.min(source.dataSetOffset, bytes.length));
      try {
        if (!scu) {
          scu = await RawStoreScu.associate({ ...target.dimse, callingAeTitle: 'FUZZ' }, contexts);
          report.dimse.associations += 1;
        }
        report.dimse.sent += 1;
        const status = await scu.store(source.context, sopInstanceUid ?? source.sopInstanceUid, dataSet);
        const hex = `0x${status.toString(16).padStart(4, '0').toUpperCase()}`;
        report.dimse.statuses[hex] = (report.dimse.statuses[hex] ?? 0) + 1;
        if (status === 0x0000 || (status & 0xf000) === 0xb000) {
          report.dimse.accepted += 1;
          dimseAccepted.push({ dataSetSha: sha256(dataSet), length: dataSet.length, index });
        } else if (status === 0xa700) {
          report.dimse.unavailable += 1;
        } else {
          report.dimse.refused += 1;
        }
      } catch (error) {
        // The association ended (ingest aborted it, or it broke): counted as refused, and a new one is opened.
        if (!(error instanceof AssociationEndedError)) throw error;
        report.dimse.refused += 1;
        report.dimse.statuses['association ended'] = (report.dimse.statuses['association ended'] ?? 0) + 1;
        scu?.abort();
        scu = undefined;
      }
    }
    // Aborted rather than released: a release would complete the touched studies now, which is not
    // what the run measures (their fallback completion comes long after it).
    scu?.abort();
  };

  try {
    await Promise.all([stowLoop().then(() => (report.stowMs = Date.now() - started)), dimseLoop().then(() => (report.dimseMs = Date.now() - started))]);
    // Read back what was accepted.
    await inParallel(retrieveUrls, 8, async (url) => {
      const res = await fetch(url);
      if (res.status !== 200) {
        violation(`RetrieveURL answered ${res.status}`);
        return;
      }
      const { boundary } = parseMultipartRelatedType(res.headers.get('content-type') ?? undefined);
      const part = parseMultipartRelated(Buffer.from(await res.arrayBuffer()), boundary, 2)[0];
      if (!part || !sentFiles.has(sha256(part.body))) violation('a RetrieveURL served bytes that were never sent');
      else report.readBack += 1;
    });
    if (dimseAccepted.length > 0) {
      const byHash = new Map<string, string>();
      for (const key of await target.objects.list(target.originalsBucket, 'studies/')) {
        const hash = /\/([0-9a-f]{64})\.dcm$/.exec(key)?.[1];
        if (hash) byHash.set(hash, key);
      }
      await inParallel(dimseAccepted, 8, async (accepted) => {
        const key = byHash.get(accepted.dataSetSha);
        if (!key) {
          violation(`DIMSE file ${accepted.index} was acknowledged but no object holds its data set`);
          return;
        }
        const stored = await target.objects.get(target.originalsBucket, key);
        if (sha256(stored.subarray(stored.length - accepted.length)) !== accepted.dataSetSha) {
          violation(`DIMSE file ${accepted.index}: the stored object's data set differs from what was sent`);
          return;
        }
        const [, study, series, sop] = /^studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)\//.exec(key) ?? [];
        const res = await fetch(`${target.http}/dicomweb/studies/${study}/series/${series}/instances/${sop}`);
        await res.arrayBuffer();
        if (res.status !== 200) violation(`DIMSE file ${accepted.index}: its RetrieveURL answered ${res.status}`);
        else report.readBack += 1;
      });
    }
  } finally {
    clearInterval(rssTimer);
  }
  report.ms = Date.now() - started;
  return report;
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

function uniqueContexts(sources: FuzzSource[]): ProposedContext[] {
  const seen = new Map<string, ProposedContext>();
  for (const s of sources) if (s.context) seen.set(`${s.context.abstractSyntax}|${s.context.transferSyntax}`, s.context);
  return [...seen.values()];
}
