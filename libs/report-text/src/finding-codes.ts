// The findings this library reports on. The first five are the model's finding codes (the same
// strings as the inference worker's outputs); the rest are the common companions a reader of a
// chest radiograph report needs to tell apart from them.
export const MODEL_FINDING_CODES = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax'] as const;
export const OTHER_FINDING_CODES = ['atelectasis', 'consolidation', 'opacity', 'edema'] as const;
export const FINDING_CODES = [...MODEL_FINDING_CODES, ...OTHER_FINDING_CODES] as const;

export type ModelFindingCode = (typeof MODEL_FINDING_CODES)[number];
export type FindingCode = (typeof FINDING_CODES)[number];

/** `normal`: a statement that something is normal ("heart size is normal", "no acute
 * cardiopulmonary process"). `other`: an abnormality outside the finding codes (a granuloma, a
 * fracture, a line), with its own `term`; it makes a study not normal. */
export type MentionCode = FindingCode | 'normal' | 'other';

export const FINDING_LABELS: Readonly<Record<FindingCode, string>> = Object.freeze({
  nodule: 'Nodule',
  mass: 'Mass',
  pleural_effusion: 'Pleural effusion',
  cardiomegaly: 'Cardiomegaly',
  pneumothorax: 'Pneumothorax',
  atelectasis: 'Atelectasis',
  consolidation: 'Consolidation',
  opacity: 'Lung opacity',
  edema: 'Pulmonary oedema',
});

export function isFindingCode(value: string): value is FindingCode {
  return (FINDING_CODES as readonly string[]).includes(value);
}
