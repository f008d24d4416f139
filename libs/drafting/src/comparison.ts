import type { Region } from '@cxr/contracts';
import type { Side, Zone } from './finding-geometry.ts';

/**
 * Comparison with a prior study, per finding, in the words a radiologist uses: new, unchanged,
 * resolved, larger, smaller. Pure: the two studies' findings in, the changes and one sentence out.
 *
 * - Present or absent is the classifier's call at the model package's threshold (`positive`), on
 *   both studies: the prior was analysed by the same kind of model, so the same operating point
 *   decides both sides.
 * - A finding positive on both is larger or smaller when its size changed by more than
 *   SIZE_CHANGE_SHARE: the measured diameter in mm where both studies have one (nodule, mass), else
 *   the area of its heatmap's hot region (a rough extent; an effusion's region grows with it). Below
 *   that, or without a size on either side, it is unchanged. A probability that moved is not a size
 *   change: a more confident call is not a bigger lesion.
 * - A finding on one side before and on the other side now (neither bilateral nor midline) is not
 *   "unchanged": it is new on the one side and resolved on the other.
 * - When several images of a study carry the finding, the most probable one stands for it.
 */

/** Relative change in size (diameter or hot area) below which a finding counts as unchanged. */
export const SIZE_CHANGE_SHARE = 0.25;

export interface ComparedFinding {
  code: string;
  display: string;
  positive: boolean;
  probability: number;
  side: Side | null;
  zone: Zone | null;
  region: Region | null;
  /** Measured diameter (mm), when the image allowed one (measuredSizeMm). */
  sizeMm?: number | null;
}

export type ChangeKind = 'new' | 'unchanged' | 'resolved' | 'larger' | 'smaller';

export interface FindingChange {
  code: string;
  display: string;
  change: ChangeKind;
  /** Where it is now (new, unchanged, larger, smaller) or was (resolved). */
  side: Side | null;
  zone: Zone | null;
  /** Sizes used for larger/smaller: mm when measured on both, else the hot area's share of the image. */
  size?: { before: number; after: number; unit: 'mm' | 'area' };
}

export interface Comparison {
  /** The prior's study date, `YYYY-MM-DD`. */
  priorDate: string;
  changes: FindingChange[];
  /** "Compared with 2026-11-02: new right pleural effusion; the left upper zone nodule is unchanged." */
  sentence: string;
}

/** The most probable instance of each finding code (one image stands for the study). */
function byCode(findings: readonly ComparedFinding[]): Map<string, ComparedFinding> {
  const out = new Map<string, ComparedFinding>();
  for (const f of findings) {
    const seen = out.get(f.code);
    if (!seen || (f.positive && !seen.positive) || (f.positive === seen.positive && f.probability > seen.probability)) out.set(f.code, f);
  }
  return out;
}

const lateral = (side: Side | null): side is 'right' | 'left' => side === 'right' || side === 'left';

function sizeChange(before: ComparedFinding, after: ComparedFinding): FindingChange['size'] | undefined {
  if (before.sizeMm != null && after.sizeMm != null && before.sizeMm > 0) return { before: before.sizeMm, after: after.sizeMm, unit: 'mm' };
  const area = (r: Region | null) => (r ? r.width * r.height : 0);
  if (area(before.region) > 0 && area(after.region) > 0) return { before: area(before.region), after: area(after.region), unit: 'area' };
  return undefined;
}

/** The per-finding changes from `prior` to `current`, in the order of the current study's findings, then the resolved ones. */
export function compareFindings(current: readonly ComparedFinding[], prior: readonly ComparedFinding[]): FindingChange[] {
  const now = byCode(current);
  const before = byCode(prior);
  const changes: FindingChange[] = [];
  const place = (f: ComparedFinding) => ({ side: f.side, zone: f.zone });
  for (const [code, after] of now) {
    const was = before.get(code);
    if (!after.positive) continue;
    if (!was?.positive) {
      changes.push({ code, display: after.display, change: 'new', ...place(after) });
      continue;
    }
    if (lateral(after.side) && lateral(was.side) && after.side !== was.side) {
      changes.push({ code, display: after.display, change: 'new', ...place(after) });
      changes.push({ code, display: was.display, change: 'resolved', ...place(was) });
      continue;
    }
    const size = sizeChange(was, after);
    let change: ChangeKind = 'unchanged';
    if (size) {
      const ratio = size.after / size.before;
      if (ratio > 1 + SIZE_CHANGE_SHARE) change = 'larger';
      else if (ratio < 1 / (1 + SIZE_CHANGE_SHARE)) change = 'smaller';
    }
    changes.push({ code, display: after.display, change, ...place(after), ...(size && change !== 'unchanged' ? { size } : {}) });
  }
  for (const [code, was] of before) {
    if (was.positive && !now.get(code)?.positive) changes.push({ code, display: was.display, change: 'resolved', ...place(was) });
  }
  return changes;
}

/** "right pleural effusion", "left upper zone lung nodule", "cardiomegaly". */
function placedName(change: FindingChange): string {
  const name = change.display.charAt(0).toLowerCase() + change.display.slice(1);
  if (lateral(change.side)) return change.zone ? `${change.side} ${change.zone} zone ${name}` : `${change.side} ${name}`;
  if (change.side === 'bilateral') return `bilateral ${name}`;
  return name;
}

function phrase(change: FindingChange): string {
  const what = placedName(change);
  switch (change.change) {
    case 'new':
      return `new ${what}`;
    case 'resolved':
      return `the ${what} has resolved`;
    case 'unchanged':
      return `the ${what} is unchanged`;
    case 'larger':
    case 'smaller': {
      const sizes = change.size?.unit === 'mm' ? ` (${change.size.before} mm, now ${change.size.after} mm)` : '';
      return `the ${what} is ${change.change}${sizes}`;
    }
  }
}

/** `YYYYMMDD` (a DICOM DA) or `YYYY-MM-DD` as `YYYY-MM-DD`; null when it is neither. */
export function isoStudyDate(date: string): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(date.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** The comparison with one prior study: its changes and the report's COMPARISON sentence. */
export function compareWithPrior(current: readonly ComparedFinding[], prior: { date: string; findings: readonly ComparedFinding[] }): Comparison {
  const changes = compareFindings(current, prior.findings);
  const date = isoStudyDate(prior.date) ?? prior.date;
  const body = changes.length === 0 ? 'no interval change; no abnormality on either study' : changes.map(phrase).join('; ');
  return { priorDate: date, changes, sentence: `Compared with ${date}: ${body}.` };
}

/** The COMPARISON section when there is no prior to compare with, or the look-up could not finish. */
export const COMPARISON_NONE = 'None.';
