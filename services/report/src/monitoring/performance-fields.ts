import { findingStatus, isFindingCode, parseReport } from '@cxr/report-text';
import { imageInScope, PROBABILITY_BINS, probabilityBin, type AnalysisResult } from '@cxr/contracts';
import type { ReportDraft } from '../drafts/report-draft.ts';
import type { ReportRevision } from '../state/report-state.ts';
import type { FieldCounts } from './performance-store.ts';

/**
 * What each kind of record adds to a model version's hourly counters, as pure functions, and the
 * names of those counters. Image level: every in-scope image the model read counts once per
 * finding (`f:{code}:n`), its positive call (`f:{code}:pos`) and its probability's bin
 * (`f:{code}:b{0..9}`).
 */
export const FIELD = {
  studies: 'studies',
  images: 'images',
  outOfScope: 'oos',
  received: 'received',
  notEligible: 'received:not-eligible',
  signed: 'signed',
  read: (code: string) => `f:${code}:n`,
  positive: (code: string) => `f:${code}:pos`,
  bin: (code: string, bin: number) => `f:${code}:b${bin}`,
  review: (outcome: 'accepted' | 'rejected' | 'added', code: string) => `review:${outcome}:${code}`,
  shadowStudies: (against: string) => `shadow:${against}:studies`,
  shadow: (against: string, code: string, cell: ShadowCell) => `shadow:${against}:${code}:${cell}`,
} as const;

export type ShadowCell = 'bothPositive' | 'bothNegative' | 'activeOnly' | 'shadowOnly';

function add(counts: FieldCounts, field: string, n = 1): void {
  counts.set(field, (counts.get(field) ?? 0) + n);
}

/** Per-image outputs of one analysis: what the AI draft (or a shadow result) holds. */
export interface AnalysisOutputs {
  /** Images in the result (read or refused). */
  images: number;
  outOfScopeImages: number;
  /** One entry per in-scope image and finding. */
  findings: ReadonlyArray<{ instanceKey: string; code: string; probability: number; positive: boolean }>;
}

export function outputsOfDraft(draft: ReportDraft): AnalysisOutputs {
  const refused = new Set(draft.outOfScope.map((o) => o.instanceKey));
  const read = new Set(draft.findings.map((f) => f.instanceKey));
  return { images: new Set([...refused, ...read]).size, outOfScopeImages: refused.size, findings: draft.findings };
}

/** The outputs of an analysis result as the worker stored it (a shadow version's, which has no draft). */
export function outputsOfResult(result: AnalysisResult): AnalysisOutputs {
  return {
    images: result.images.length,
    outOfScopeImages: result.images.filter((image) => !imageInScope(image)).length,
    findings: result.images.flatMap((image) => (imageInScope(image) ? image.findings.map((f) => ({ instanceKey: image.instanceKey, code: f.code, probability: f.probability, positive: f.positive })) : [])),
  };
}

/** An analysis's counts: one study, its images, and each in-scope image's calls and probability bins. */
export function analysisCounts(outputs: AnalysisOutputs): FieldCounts {
  const counts: FieldCounts = new Map();
  add(counts, FIELD.studies);
  add(counts, FIELD.images, outputs.images);
  add(counts, FIELD.outOfScope, outputs.outOfScopeImages);
  for (const f of outputs.findings) {
    add(counts, FIELD.read(f.code));
    if (f.positive) add(counts, FIELD.positive(f.code));
    add(counts, FIELD.bin(f.code, probabilityBin(f.probability)));
  }
  return counts;
}

export function receivedCounts(eligible: boolean): FieldCounts {
  return new Map([[FIELD.received, 1], ...(eligible ? [] : [[FIELD.notEligible, 1] as [string, number]])]);
}

export interface ReviewOutcome {
  /** Decisions on AI-positive findings (image level). */
  decisions: Array<{ code: string; decision: 'accepted' | 'rejected' }>;
  /** Finding codes the signed text states as present while the AI called them negative on every image. */
  added: string[];
}

/**
 * What a signed report says about the AI: each decision on a positive finding, and the findings the
 * radiologist added. "Added" needs the signed text to state the finding as present (through the
 * report-text extractor: not hedged, not negated) and the AI to have read it (a model label) and
 * called it negative on every image. Uncertain mentions count as neither.
 */
export function reviewOutcome(revision: ReportRevision): ReviewOutcome {
  const positives = new Set(revision.draft.findings.filter((f) => f.positive).map((f) => `${f.instanceKey}/${f.code}`));
  const decisions = revision.decisions
    .filter((d) => positives.has(`${d.instanceKey}/${d.code}`))
    .map((d) => ({ code: d.code, decision: d.decision }));
  const read = new Set(revision.draft.findings.map((f) => f.code));
  const calledPositive = new Set(revision.draft.findings.filter((f) => f.positive).map((f) => f.code));
  const parsed = parseReport({ findings: revision.sections.findings, impression: revision.sections.impression });
  const added = [...read].filter((code) => !calledPositive.has(code) && textCodeOf(code) !== null && findingStatus(parsed, textCodeOf(code)!) === 'present').sort();
  return { decisions, added };
}

/** The report-text finding code of a model label (`pleural_effusion`, also written `pleural-effusion`), or null when the extractor has none. */
function textCodeOf(code: string) {
  const normal = code.replace(/-/g, '_');
  return isFindingCode(normal) ? normal : null;
}

export function reviewCounts(outcome: ReviewOutcome): FieldCounts {
  const counts: FieldCounts = new Map([[FIELD.signed, 1]]);
  for (const d of outcome.decisions) add(counts, FIELD.review(d.decision, d.code));
  for (const code of outcome.added) add(counts, FIELD.review('added', code));
  return counts;
}

/** A shadow result against the active one on the same study: image-level agreement of the positive calls. */
export function shadowCounts(against: string, active: AnalysisOutputs, shadow: AnalysisOutputs): FieldCounts {
  const counts: FieldCounts = new Map([[FIELD.shadowStudies(against), 1]]);
  const activeCalls = new Map(active.findings.map((f) => [`${f.instanceKey}/${f.code}`, f.positive]));
  for (const f of shadow.findings) {
    const a = activeCalls.get(`${f.instanceKey}/${f.code}`);
    if (a === undefined) continue; // the active version refused the image or has no such label
    const cell: ShadowCell = a && f.positive ? 'bothPositive' : !a && !f.positive ? 'bothNegative' : a ? 'activeOnly' : 'shadowOnly';
    add(counts, FIELD.shadow(against, f.code, cell));
  }
  return counts;
}

/** The probability histogram (counts per bin) of one finding out of summed fields. */
export function histogramOf(fields: FieldCounts, code: string): number[] {
  return Array.from({ length: PROBABILITY_BINS }, (_, bin) => fields.get(FIELD.bin(code, bin)) ?? 0);
}

/** Finding codes that have any counter among the fields. */
export function codesIn(fields: FieldCounts): string[] {
  const codes = new Set<string>();
  for (const field of fields.keys()) {
    const f = /^f:(.+):n$/.exec(field) ?? /^review:(?:accepted|rejected|added):(.+)$/.exec(field);
    if (f) codes.add(f[1]!);
  }
  return [...codes].sort();
}
