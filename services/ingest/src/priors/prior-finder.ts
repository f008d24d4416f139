import { errorMessage, type Logger } from '@cxr/platform';
import { exactlyQueryable, mayBeChestRadiograph, samePatient, type InstanceSink, type PriorQuery, type PriorSource, type RemoteStudy } from './prior-source.ts';

/**
 * Finds the same patient's earlier chest radiographs for a study that just completed, in ingest's
 * own store and in every configured PACS, within bounds that are settings:
 * - at most `max` priors (the most recent first), none older than `maxAgeDays` before the study;
 * - each PACS gets `waitMs` for its find and retrieve together, all PACS at the same time: a PACS
 *   that does not answer costs the study at most that long, and is listed as unanswered so the
 *   draft can say its comparison may be incomplete.
 * Own store: matched by the patient's pseudonym (Patient ID + issuer), never by name. PACS: asked
 * by Patient ID (and issuer, where known); studies they hold that ingest already has are not
 * fetched again. Retrieved instances go through `sink` (ingest's InstanceStore), so they are
 * validated, stored and recorded like any other, and de-identified like any other when analysed.
 */
export interface PriorFinderSettings {
  max: number;
  maxAgeDays: number;
  waitMs: number;
}

export interface PatientStudyIndex {
  patientStudies(patientKey: string): Promise<Map<string, string>>;
  /** Whether ingest holds radiograph instances of this study (CR/DX). */
  hasRadiographs(studyUid: string): Promise<boolean>;
  markRetrievedPrior(studyUid: string): Promise<void>;
}

export interface CurrentStudy {
  studyInstanceUid: string;
  /** `YYYYMMDD`; absent: the look-up counts from today. */
  studyDate?: string | undefined;
  patientKey?: string | undefined;
  patientId?: string | undefined;
  issuer?: string | undefined;
}

export interface FoundPrior {
  studyInstanceUid: string;
  studyDate: string;
  /** 'local' or the PACS's name. */
  source: string;
}

export interface PriorLookupOutcome {
  priors: FoundPrior[];
  unanswered: { source: string; reason: 'timed-out' | 'failed'; detail: string }[];
}

export class PriorLookupTimeout extends Error {
  constructor(readonly source: string, ms: number) {
    super(`${source} did not answer within ${ms} ms`);
    this.name = 'PriorLookupTimeout';
  }
}

const DAY_MS = 86_400_000;

function dateOf(yyyymmdd: string): Date {
  return new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))));
}

function yyyymmdd(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

/** The date range of acceptable priors: `maxAgeDays` before the study's date, up to it. */
export function priorDateRange(studyDate: string | undefined, maxAgeDays: number, today: Date): { from: string; to: string } {
  const to = studyDate && /^\d{8}$/.test(studyDate) ? studyDate : yyyymmdd(today);
  return { from: yyyymmdd(new Date(dateOf(to).getTime() - maxAgeDays * DAY_MS)), to };
}

/** Most recent first, then by UID, at most `max`. */
function newest<T extends { studyDate: string; studyInstanceUid: string }>(items: T[], max: number): T[] {
  return [...items].sort((a, b) => b.studyDate.localeCompare(a.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid)).slice(0, max);
}

/** Runs `work` with a signal that aborts after `ms`; rejects with PriorLookupTimeout then, whatever `work` does. */
async function bounded<T>(source: string, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PriorLookupTimeout(source, ms);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class PriorFinder {
  constructor(
    private readonly deps: {
      index: PatientStudyIndex;
      sources: readonly PriorSource[];
      settings: PriorFinderSettings;
      /** Takes in one retrieved instance; `source` is the PACS's name. */
      accept: (bytes: Buffer, source: string) => Promise<void>;
      logger: Logger;
      now?: () => Date;
    },
  ) {}

  get settings(): PriorFinderSettings {
    return this.deps.settings;
  }

  async find(current: CurrentStudy): Promise<PriorLookupOutcome> {
    const { settings, index, logger } = this.deps;
    if (settings.max === 0) return { priors: [], unanswered: [] };
    const range = priorDateRange(current.studyDate, settings.maxAgeDays, (this.deps.now ?? (() => new Date()))());
    const inRange = (date: string) => /^\d{8}$/.test(date) && date >= range.from && date <= range.to;

    const local: FoundPrior[] = [];
    const known = new Set<string>([current.studyInstanceUid]);
    if (current.patientKey) {
      for (const [uid, date] of await index.patientStudies(current.patientKey)) {
        known.add(uid);
        if (uid !== current.studyInstanceUid && inRange(date) && (await index.hasRadiographs(uid))) local.push({ studyInstanceUid: uid, studyDate: date, source: 'local' });
      }
    }
    const priors = newest(local, settings.max);
    const unanswered: PriorLookupOutcome['unanswered'] = [];
    if (!current.patientId?.trim() || !exactlyQueryable(current.patientId) || !exactlyQueryable(current.issuer) || this.deps.sources.length === 0) return { priors, unanswered };

    const query: PriorQuery = { patientId: current.patientId, issuer: current.issuer, ...range };
    // Every PACS at once, each within the wait bound; what they find is fetched in the same bound.
    const results = await Promise.allSettled(
      this.deps.sources.map((source) =>
        bounded(source.name, settings.waitMs, async (signal) => {
          const found = (await source.find(query, signal)).filter(
            (s: RemoteStudy) => !known.has(s.studyInstanceUid) && inRange(s.studyDate) && mayBeChestRadiograph(s) && samePatient(query, s),
          );
          // Only what could still be among the `max` most recent is fetched.
          const wanted = newest(found, settings.max).filter((s) => priors.length < settings.max || s.studyDate > priors[priors.length - 1]!.studyDate);
          const fetched: FoundPrior[] = [];
          for (const study of wanted) {
            await index.markRetrievedPrior(study.studyInstanceUid);
            const sink: InstanceSink = (bytes) => this.deps.accept(bytes, source.name);
            await source.retrieve(study.studyInstanceUid, sink, signal);
            fetched.push({ studyInstanceUid: study.studyInstanceUid, studyDate: study.studyDate, source: source.name });
          }
          return fetched;
        }),
      ),
    );
    const remote: FoundPrior[] = [];
    results.forEach((result, i) => {
      const source = this.deps.sources[i]!.name;
      if (result.status === 'fulfilled') {
        remote.push(...result.value);
        return;
      }
      const timedOut = result.reason instanceof PriorLookupTimeout;
      const detail = timedOut ? `no answer within ${settings.waitMs / 1000} s` : errorMessage(result.reason).slice(0, 500);
      logger.warn({ pacs: source, reason: timedOut ? 'timed-out' : 'failed', detail }, 'prior look-up incomplete');
      unanswered.push({ source, reason: timedOut ? 'timed-out' : 'failed', detail });
    });
    // The same study from two PACS is one prior.
    const seen = new Set(priors.map((p) => p.studyInstanceUid));
    const all = [...priors, ...remote.filter((p) => !seen.has(p.studyInstanceUid) && seen.add(p.studyInstanceUid))];
    return { priors: newest(all, settings.max), unanswered };
  }
}
