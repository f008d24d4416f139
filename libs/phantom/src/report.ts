// Report text written from the ground truth, and a rule-based labeller reading text back.
// The wording is fixed and small on purpose: it is what the reference model's decoder learns
// to write, and what `labelReport` must read back without error.
import { FINDING_CODES, type FindingCode, type ReportText, type Side, type Zone } from './types.ts';

export interface ReportFinding {
  code: FindingCode;
  side: Side | null;
  zone: Zone | null;
  sizeMm: number;
  ctr?: number;
}

export const NORMAL_FINDINGS = 'The lungs are clear. No focal lung lesion. No pleural effusion. No pneumothorax. Heart size is normal.';
export const NORMAL_IMPRESSION = 'No acute cardiopulmonary abnormality.';

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function effusionGrade(depthMm: number): 'small' | 'moderate' | 'large' {
  return depthMm < 30 ? 'small' : depthMm < 55 ? 'moderate' : 'large';
}

function findingSentence(f: ReportFinding): string {
  switch (f.code) {
    case 'nodule':
    case 'mass':
      return `A ${f.sizeMm} mm ${f.code} in the ${f.side} ${f.zone} zone.`;
    case 'pleural_effusion':
      return effusionGrade(f.sizeMm) === 'small'
        ? `A small ${f.side} pleural effusion blunting the costophrenic angle.`
        : `A ${effusionGrade(f.sizeMm)} ${f.side} pleural effusion.`;
    case 'pneumothorax':
      return `A ${f.sizeMm} mm ${f.side} apical pneumothorax with a visible pleural line.`;
    case 'cardiomegaly':
      return `The heart is enlarged, with a cardiothoracic ratio of ${(f.ctr ?? 0.6).toFixed(2)}.`;
  }
}

function impressionSentence(f: ReportFinding): string {
  switch (f.code) {
    case 'nodule':
    case 'mass':
      return `${cap(f.side ?? '')} ${f.zone} zone ${f.code}.`;
    case 'pleural_effusion':
      return `${cap(f.side ?? '')} pleural effusion.`;
    case 'pneumothorax':
      return `${cap(f.side ?? '')} pneumothorax.`;
    case 'cardiomegaly':
      return 'Cardiomegaly.';
  }
}

/** Report in a fixed style: findings in FINDING_CODES order, then pertinent negatives. */
export function writeReport(findings: ReportFinding[]): ReportText {
  if (findings.length === 0) return { findings: NORMAL_FINDINGS, impression: NORMAL_IMPRESSION };
  const ordered = [...findings].sort((a, b) => FINDING_CODES.indexOf(a.code) - FINDING_CODES.indexOf(b.code));
  const has = (c: FindingCode): boolean => findings.some((f) => f.code === c);
  const sentences = ordered.map(findingSentence);
  if (!has('nodule') && !has('mass')) sentences.push('No focal lung lesion.');
  if (!has('pleural_effusion')) sentences.push('No pleural effusion.');
  if (!has('pneumothorax')) sentences.push('No pneumothorax.');
  if (!has('cardiomegaly')) sentences.push('Heart size is normal.');
  return { findings: sentences.join(' '), impression: ordered.map(impressionSentence).join(' ') };
}

const TERMS: Record<FindingCode, RegExp> = {
  nodule: /\bnodul(?:e|es|ar|arity)\b/,
  mass: /\bmass(?:es)?\b/,
  pleural_effusion: /\beffusions?\b/,
  pneumothorax: /\bpneumothora(?:x|ces)\b/,
  cardiomegaly: /\bcardiomegaly\b|\bheart is enlarged\b|\benlarged heart\b|\bcardiac enlargement\b|\benlarged cardiac silhouette\b/,
};

// A negation cue anywhere before the term in the same sentence negates it ("No pleural effusion.",
// "There is no pneumothorax.", "Without effusion."). "Heart size is normal" is simply not a positive.
const NEGATION = /\b(?:no|not|without|negative for|free of|resolved|absent|exclude[sd]?)\b/;

/** Reads report text (findings and/or impression) back into binary labels. */
export function labelReport(text: string): Record<FindingCode, 0 | 1> {
  const labels = Object.fromEntries(FINDING_CODES.map((c) => [c, 0])) as Record<FindingCode, 0 | 1>;
  const sentences = text
    .toLowerCase()
    .replace(/(\d)\.(\d)/g, '$1,$2') // keep decimals ("0.62") from splitting sentences
    .split(/[.;\n]+/);
  for (const sentence of sentences) {
    for (const code of FINDING_CODES) {
      const m = TERMS[code].exec(sentence);
      if (!m) continue;
      const before = sentence.slice(0, m.index);
      if (!NEGATION.test(before)) labels[code] = 1;
    }
  }
  return labels;
}
