// Text for a package without a decoder (`text.decoder: "none"`): one structured-findings sentence
// per label from the classifier's calls, the style of the commercial products: a positive finding
// by its display name, with the patient side its heatmap shows ("Right pleural effusion."), a
// negative one as "No <display>." ("No pneumothorax."); the impression lists the positives or says
// the study shows no acute abnormality. The side is read with @cxr/drafting's findingGeometry from
// the same 8-bit quantisation the worker stores (so the report reads the same side), and the
// sentences state exactly the calls, so the drafting consistency checks keep all of them.
import { findingGeometry, type Side } from '@cxr/drafting';
import type { Heatmap } from './heatmap.ts';
import type { DecodedText } from './text-decoder.ts';

export interface TemplatedFinding {
  code: string;
  display: string;
  positive: boolean;
  heatmap: Heatmap;
  peak: { x: number; y: number };
}

export const TEMPLATED_NORMAL_IMPRESSION = 'No acute cardiopulmonary abnormality.';

/** The display name inside a sentence: lower case, except words written in capitals (acronyms). */
const inSentence = (display: string): string => display.split(/\s+/).map((w) => (w.length > 1 && w === w.toUpperCase() ? w : w.toLowerCase())).join(' ');
const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

function sideOf(finding: TemplatedFinding): Side | null {
  const { width, height, data } = finding.heatmap;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(Math.min(1, Math.max(0, data[i]!)) * 255);
  return findingGeometry({ width, height, data: pixels }, finding.peak, finding.code).side;
}

function positiveSentence(finding: TemplatedFinding): string {
  const side = sideOf(finding);
  const name = inSentence(finding.display);
  if (side === 'right' || side === 'left' || side === 'bilateral') return `${capitalised(side)} ${name}.`;
  return `${capitalised(finding.display.trim())}.`;
}

export function templatedText(findings: readonly TemplatedFinding[]): DecodedText {
  const positives = findings.filter((f) => f.positive).map(positiveSentence);
  const negatives = findings.filter((f) => !f.positive).map((f) => `No ${inSentence(f.display)}.`);
  return {
    findings: [...positives, ...negatives].join(' '),
    impression: positives.length > 0 ? positives.join(' ') : TEMPLATED_NORMAL_IMPRESSION,
    complete: true,
  };
}
