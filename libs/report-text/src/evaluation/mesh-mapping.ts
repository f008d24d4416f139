// Which MeSH terms of the Open-i coding stand for which finding. A term is a heading with
// qualifiers ("Opacity/lung/base/left/streaky"); it counts for a finding when its heading is
// one of the finding's headings, and, where a rule says so, its qualifiers agree.
import type { FindingCode } from '../finding-codes.ts';

export type EvaluatedCode = FindingCode | 'normal';

interface MeshRule {
  readonly headings: readonly string[];
  /** When set, the term counts only if this accepts its qualifiers. */
  readonly qualifiers?: (qualifiers: readonly string[]) => boolean;
  readonly note: string;
}

const NOT_LUNG = ['breast', 'ribs', 'bone', 'thoracic vertebrae', 'spine', 'soft tissue', 'clavicle', 'shoulder', 'abdomen'];

export const MESH_RULES: Readonly<Record<EvaluatedCode, readonly MeshRule[]>> = {
  normal: [{ headings: ['normal'], note: 'the collection codes a normal report as the single term `normal`' }],
  // Not Opacity/round: the coders use it for granulomas and round pneumonias as well.
  nodule: [{ headings: ['Nodule', 'Multiple Pulmonary Nodules', 'Solitary Pulmonary Nodule'], note: 'Nodule (any site qualifier)' }],
  // Not Neoplasms: that is a diagnosis, coded from words ("malignancy", "metastatic") that name no finding.
  mass: [{ headings: ['Mass'], note: 'Mass' }],
  pleural_effusion: [{ headings: ['Pleural Effusion', 'Hydropneumothorax'], note: 'Pleural Effusion (not Pericardial Effusion)' }],
  cardiomegaly: [
    { headings: ['Cardiomegaly'], note: 'Cardiomegaly, including /borderline' },
    {
      headings: ['Cardiac Shadow', 'Heart'],
      qualifiers: (q) => q.includes('enlarged') || q.includes('borderline'),
      note: 'Cardiac Shadow or Heart qualified enlarged or borderline (not /obscured)',
    },
  ],
  pneumothorax: [{ headings: ['Pneumothorax', 'Hydropneumothorax'], note: 'Pneumothorax' }],
  atelectasis: [{ headings: ['Pulmonary Atelectasis', 'Atelectasis'], note: 'Pulmonary Atelectasis' }],
  consolidation: [{ headings: ['Consolidation', 'Airspace Disease', 'Infiltrate', 'Pneumonia'], note: 'Consolidation, Airspace Disease, Infiltrate, Pneumonia' }],
  opacity: [
    {
      headings: ['Opacity', 'Density'],
      qualifiers: (q) => !q.some((x) => NOT_LUNG.includes(x)),
      note: 'Opacity or Density, unless qualified by a site outside the lung (breast, ribs, spine...)',
    },
  ],
  edema: [{ headings: ['Pulmonary Edema', 'Edema', 'Pulmonary Congestion', 'Heart Failure'], note: 'Pulmonary Edema, Pulmonary Congestion, Heart Failure' }],
};

export const EVALUATED_CODES = Object.keys(MESH_RULES) as EvaluatedCode[];

/** The findings a record's MeSH terms code as present. */
export function codesFromMesh(terms: readonly string[]): Set<EvaluatedCode> {
  const codes = new Set<EvaluatedCode>();
  for (const term of terms) {
    const [heading = '', ...rest] = term.split('/').map((part) => part.trim());
    const qualifiers = rest.map((q) => q.toLowerCase());
    for (const code of EVALUATED_CODES) {
      if (MESH_RULES[code].some((rule) => rule.headings.includes(heading) && (rule.qualifiers?.(qualifiers) ?? true))) codes.add(code);
    }
  }
  return codes;
}
