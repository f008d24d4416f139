// "The heart is enlarged", "normal heart size", "enlargement of the cardiac silhouette": the
// heart's size is said in a statement, a heart word and a size word near each other with only
// linking words between, rather than in one phrase.
import { PhraseIndex, type PhraseMatch } from './phrase-matcher.ts';

export type HeartSize = 'enlarged' | 'borderline' | 'normal';
const heartIndex = new PhraseIndex<true>(
  [
    'heart', 'heart size', 'heart shadow', 'heart contour', 'cardiac', 'cardiac silhouette', 'cardiac shadow', 'cardiac size', 'cardiac contour',
    'cardiac diameter', 'cardiothoracic ratio', 'ctr', 'cardiomediastinal silhouette', 'cardiomediastinal contour', 'cardiomediastinal', 'cardiopericardial silhouette',
  ].map((p) => [p, true] as const),
);
const sizeIndex = new PhraseIndex<HeartSize>([
  ...['enlarged', 'enlargement', 'large', 'larger', 'increased', 'increase in size', 'big'].map((p) => [p, 'enlarged' as const] as const),
  ...['borderline', 'borderline enlarged', 'prominent', 'mildly prominent'].map((p) => [p, 'borderline' as const] as const),
  // "Upper limits of normal" is still normal: it is what radiologists write to say so.
  ...[
    'normal', 'within normal limits', 'within normal limit', 'unremarkable', 'normal size', 'small', 'not enlarged', 'upper limits of normal',
    'upper limit of normal', 'upper normal', 'high normal', 'top normal', 'top of normal', 'upper range of normal', 'normal sized',
  ].map((p) => [p, 'normal' as const] as const),
]);
const HEART_GAP = new Set(
  (
    'is are was were appear appears appeared remain remains remained seem seems size and the mediastinum mediastinal contour silhouette within at ' +
    'mildly moderately slightly markedly severely mild moderate marked severe massively again stable stably overall still now be to also minimally ' +
    'in grossly likely probably possibly not no considered somewhat persistently persistent hila hilar vasculature pulmonary vascularity generally ' +
    'globally otherwise chronically configuration shape : , upper limit limits of top'
  ).split(' '),
);

export interface HeartStatement {
  start: number;
  end: number;
  size: HeartSize;
  anchor: PhraseMatch<true>;
  modifier: PhraseMatch<HeartSize>;
}

/** Whether token `i` is one of the statement's heart or size words (not a linking word). */
export function isHeartWord(i: number, h: HeartStatement): boolean {
  return (i >= h.anchor.start && i < h.anchor.end) || (i >= h.modifier.start && i < h.modifier.end);
}

export function heartSizeStatements(keys: readonly string[]): HeartStatement[] {
  const statements: HeartStatement[] = [];
  for (const anchor of heartIndex.matchAll(keys)) {
    // Anchor first: "heart size is mildly enlarged".
    let found: PhraseMatch<HeartSize> | null = null;
    for (let i = anchor.end; i < Math.min(keys.length, anchor.end + 8); i += 1) {
      found = sizeIndex.matchAt(keys, i);
      if (found || !HEART_GAP.has(keys[i] ?? '')) break;
    }
    if (found) {
      statements.push({ start: anchor.start, end: found.end, size: found.value, anchor, modifier: found });
      continue;
    }
    // Size word first: "enlarged cardiac silhouette", "enlargement of the heart".
    let gapStart = anchor.start;
    while (gapStart > 0 && anchor.start - gapStart < 2 && ['of', 'the'].includes(keys[gapStart - 1] ?? '')) gapStart -= 1;
    for (let at = Math.max(0, gapStart - 5); at < gapStart; at += 1) {
      const before = sizeIndex.matchAt(keys, at);
      if (before && before.end === gapStart) {
        statements.push({ start: before.start, end: anchor.end, size: before.value, anchor, modifier: before });
        break;
      }
    }
  }
  return statements.filter((s, i) => !statements.some((o, j) => j < i && s.start < o.end && s.end > o.start));
}
