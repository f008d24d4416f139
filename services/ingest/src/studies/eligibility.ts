/**
 * Which instances the model analyses. The reference model reads frontal chest radiographs;
 * everything else is stored and the study records why it was not analysed.
 * An empty string in a list means "attribute absent is acceptable".
 */
export interface EligibilityRules {
  modalities: string[];
  bodyParts: string[];
  viewPositions: string[];
  photometricInterpretations: string[];
}

export interface EligibilityInput {
  sopClassUid: string;
  modality?: string | undefined;
  bodyPartExamined?: string | undefined;
  viewPosition?: string | undefined;
  photometricInterpretation?: string | undefined;
  hasPixelData: boolean;
  numberOfFrames: number;
}

export type EligibilityDecision = { eligible: true } | { eligible: false; reason: string };

function allowed(list: string[], value: string | undefined): boolean {
  const v = (value ?? '').trim().toUpperCase();
  return list.some((item) => item.toUpperCase() === v);
}

export function decideEligibility(rules: EligibilityRules, input: EligibilityInput): EligibilityDecision {
  if (!input.hasPixelData) return { eligible: false, reason: `no pixel data (SOP class ${input.sopClassUid})` };
  if (!allowed(rules.modalities, input.modality)) {
    return { eligible: false, reason: `modality ${input.modality || '(absent)'} is not analysed (allowed: ${rules.modalities.filter(Boolean).join(', ')})` };
  }
  if (!allowed(rules.bodyParts, input.bodyPartExamined)) {
    return { eligible: false, reason: `body part ${input.bodyPartExamined || '(absent)'} is not analysed` };
  }
  if (!allowed(rules.viewPositions, input.viewPosition)) {
    return { eligible: false, reason: `view position ${input.viewPosition || '(absent)'} is not analysed (frontal views only)` };
  }
  if (!allowed(rules.photometricInterpretations, input.photometricInterpretation)) {
    return { eligible: false, reason: `photometric interpretation ${input.photometricInterpretation || '(absent)'} is not analysed` };
  }
  if (input.numberOfFrames !== 1) return { eligible: false, reason: `${input.numberOfFrames} frames; single-frame radiographs only` };
  return { eligible: true };
}
