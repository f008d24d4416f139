import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { PriorFinder, priorDateRange, type PatientStudyIndex } from './prior-finder.ts';
import type { PriorQuery, PriorSource, RemoteStudy } from './prior-source.ts';

const logger = pino({ level: 'silent' });
const TODAY = new Date('2026-12-04T12:00:00Z');

/** An in-memory PACS: what a real one answers, as plain data (the int tests use Orthanc). */
class ListedPacs implements PriorSource {
  retrieved: string[] = [];
  queries: PriorQuery[] = [];
  constructor(readonly name: string, private readonly studies: RemoteStudy[]) {}
  async find(query: PriorQuery): Promise<RemoteStudy[]> {
    this.queries.push(query);
    return this.studies;
  }
  async retrieve(uid: string, sink: (bytes: Buffer) => Promise<void>): Promise<void> {
    this.retrieved.push(uid);
    await sink(Buffer.from(uid));
  }
}

/** A PACS that never answers: its promises stay pending until the finder's bound gives up on them. */
class SilentPacs implements PriorSource {
  constructor(readonly name: string) {}
  find(_query: PriorQuery, signal: AbortSignal): Promise<RemoteStudy[]> {
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }
  retrieve(): Promise<void> {
    return new Promise(() => {});
  }
}

function index(studies: Record<string, string> = {}): PatientStudyIndex & { marked: string[] } {
  const marked: string[] = [];
  return {
    marked,
    patientStudies: async () => new Map(Object.entries(studies)),
    hasRadiographs: async () => true,
    markRetrievedPrior: async (uid) => {
      marked.push(uid);
    },
  };
}

const current = { studyInstanceUid: '1.2.9', studyDate: '20261201', patientKey: 'p'.repeat(32), patientId: 'PAT1', issuer: 'HOSP' };
const study = (uid: string, date: string, extra: Partial<RemoteStudy> = {}): RemoteStudy => ({ studyInstanceUid: uid, studyDate: date, modalities: ['DX'], ...extra });

function finder(sources: PriorSource[], settings = { max: 2, maxAgeDays: 365, waitMs: 2000 }, idx = index()) {
  const accepted: string[] = [];
  const f = new PriorFinder({ index: idx, sources, settings, accept: async (bytes, source) => void accepted.push(`${source}:${bytes.toString()}`), logger, now: () => TODAY });
  return { f, accepted, idx };
}

describe('PriorFinder', () => {
  test('finds earlier studies of the patient in its own store, most recent first, and not the study itself', async () => {
    const { f } = finder([], undefined, index({ '1.2.9': '20261201', '1.2.1': '20260101', '1.2.2': '20260601' }));
    expect((await f.find(current)).priors).toEqual([
      { studyInstanceUid: '1.2.2', studyDate: '20260601', source: 'local' },
      { studyInstanceUid: '1.2.1', studyDate: '20260101', source: 'local' },
    ]);
  });

  test('keeps at most the configured number of priors and none older than the maximum age', async () => {
    const pacs = new ListedPacs('main', [study('1.3.1', '20261101'), study('1.3.2', '20261001'), study('1.3.3', '20260901'), study('1.3.4', '20231201')]);
    const { f, accepted } = finder([pacs], { max: 2, maxAgeDays: 365, waitMs: 2000 });
    const outcome = await f.find(current);
    expect(outcome.priors.map((p) => p.studyInstanceUid)).toEqual(['1.3.1', '1.3.2']);
    expect(pacs.retrieved).toEqual(['1.3.1', '1.3.2']);
    expect(accepted).toEqual(['main:1.3.1', 'main:1.3.2']);
    expect(pacs.queries[0]).toEqual({ patientId: 'PAT1', issuer: 'HOSP', from: '20251201', to: '20261201' });
  });

  test('does not fetch what its own store already holds, nor studies of another issuer or modality', async () => {
    const pacs = new ListedPacs('main', [study('1.2.2', '20261101'), study('1.3.5', '20261001', { issuer: 'OTHER' }), study('1.3.6', '20260901', { modalities: ['CT'] })]);
    const { f } = finder([pacs], undefined, index({ '1.2.2': '20261101' }));
    const outcome = await f.find(current);
    expect(outcome.priors).toEqual([{ studyInstanceUid: '1.2.2', studyDate: '20261101', source: 'local' }]);
    expect(pacs.retrieved).toEqual([]);
  });

  test('skips what a PACS answers under another Patient ID (a PACS that matches loosely)', async () => {
    const pacs = new ListedPacs('main', [study('1.3.7', '20261101', { patientId: 'PAT10' }), study('1.3.8', '20261001', { patientId: 'PAT1' })]);
    expect((await finder([pacs]).f.find(current)).priors.map((p) => p.studyInstanceUid)).toEqual(['1.3.8']);
  });

  test.each(['PAT*', 'PA?1', 'PAT1\\PAT2'])('asks no PACS for a Patient ID that would match others (%s), and still finds its own priors', async (patientId) => {
    const pacs = new ListedPacs('main', [study('1.3.1', '20261101')]);
    const { f } = finder([pacs], undefined, index({ '1.2.2': '20261101' }));
    expect((await f.find({ ...current, patientId })).priors.map((p) => p.studyInstanceUid)).toEqual(['1.2.2']);
    expect(pacs.queries).toEqual([]);
  });

  test('marks what it retrieves as a prior before retrieving it, so its completion looks for no priors of its own', async () => {
    const pacs = new ListedPacs('main', [study('1.3.1', '20261101')]);
    const { f, idx } = finder([pacs]);
    await f.find(current);
    expect(idx.marked).toEqual(['1.3.1']);
  });

  test('gives up on a PACS that does not answer at the wait bound, lists it, and keeps what the others found', async () => {
    const { f } = finder([new SilentPacs('slow'), new ListedPacs('main', [study('1.3.1', '20261101')])], { max: 2, maxAgeDays: 365, waitMs: 200 });
    const outcome = await f.find(current);
    expect(outcome.priors.map((p) => p.studyInstanceUid)).toEqual(['1.3.1']);
    expect(outcome.unanswered).toEqual([{ source: 'slow', reason: 'timed-out', detail: 'no answer within 0.2 s' }]);
  });

  test('lists a PACS that fails as failed, with its reason', async () => {
    const broken: PriorSource = { name: 'broken', find: async () => Promise.reject(new Error('association rejected')), retrieve: async () => {} };
    const outcome = await finder([broken]).f.find(current);
    expect(outcome.unanswered).toEqual([{ source: 'broken', reason: 'failed', detail: 'association rejected' }]);
  });

  test('asks no PACS for a study without a Patient ID, and nothing at all when the maximum is 0', async () => {
    const pacs = new ListedPacs('main', [study('1.3.1', '20261101')]);
    expect(await finder([pacs]).f.find({ studyInstanceUid: '1.2.9' })).toEqual({ priors: [], unanswered: [] });
    expect(await finder([pacs], { max: 0, maxAgeDays: 365, waitMs: 200 }).f.find(current)).toEqual({ priors: [], unanswered: [] });
    expect(pacs.queries).toEqual([]);
  });
});

test('the date range counts back from the study date, or from today when the study has none', () => {
  expect(priorDateRange('20260301', 30, TODAY)).toEqual({ from: '20260130', to: '20260301' });
  expect(priorDateRange(undefined, 1, TODAY)).toEqual({ from: '20261203', to: '20261204' });
});
