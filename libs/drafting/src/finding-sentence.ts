import type { ConfidenceBand } from '@cxr/contracts';
import type { Side, Zone } from './finding-geometry.ts';

/** What a templated sentence needs to know about a finding. */
export interface SentenceFinding {
  display: string;
  side: Side | null;
  zone: Zone | null;
  confidence: ConfidenceBand;
}

/**
 * The templated sentence for one positive finding, used where the model's text leaves it out or
 * states it badly: display name, side and zone where known, confidence band, e.g.
 * "Lung nodule in the right upper zone (high confidence)." It carries no size: a size is only
 * ever the measured one, inside a sentence of the model's own wording.
 */
export function findingSentence(finding: SentenceFinding): string {
  const name = finding.display.charAt(0).toUpperCase() + finding.display.slice(1);
  let where = '';
  if (finding.side === 'right' || finding.side === 'left') {
    where = finding.zone ? ` in the ${finding.side} ${finding.zone} zone` : ` on the ${finding.side}`;
  } else if (finding.side === 'bilateral') {
    where = finding.zone ? `, bilateral, ${finding.zone} zones` : ', bilateral';
  }
  return `${name}${where} (${finding.confidence} confidence).`;
}
