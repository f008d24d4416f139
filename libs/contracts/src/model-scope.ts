// What a model package was built for (its manifest's `scope`), and the decision by DICOM
// attributes that ingest and the worker both make from it. The pixels decide the rest: an image
// whose attributes pass (or are absent) is still checked on its pixels by the worker
// (out-of-distribution score and image checks; see @cxr/inference).
//
// A cross-service contract: the worker publishes the scope of the model it serves (Redis,
// `modelScopeKey`), and ingest reads it there, so the rules come from the package that will run.
import { z } from 'zod';

const upperList = z.array(z.string().min(1).max(32).transform((s) => s.trim().toUpperCase())).min(1);

export const modelScopeSchema = z
  .object({
    /** One sentence a radiologist reads, e.g. "Adult frontal (PA/AP) chest radiographs (CR, DX)". */
    description: z.string().min(1).max(512),
    modalities: upperList,
    bodyParts: upperList,
    /** View Position (0018,5101) values read; lateral (LL, RL) and others are refused. */
    viewPositions: upperList,
    photometricInterpretations: upperList,
    /** Patient age in years at the study, inclusive; null = no bound. */
    ageYears: z.object({ min: z.number().nonnegative().nullable(), max: z.number().positive().nullable() }).strict(),
    /** Shorter side of the image, in pixels, below which the model does not read it. */
    minImageSize: z.number().int().positive().max(4096),
    /** Single-frame images only (a radiograph); multi-frame objects are refused. */
    singleFrame: z.literal(true),
    /**
     * What happens outside the scope. By tags: the study ends `not-eligible` with the reason. A tag
     * that is absent is not a pass: the image goes on to the pixel checks, which decide.
     */
    outsideScope: z.string().min(1).max(1024),
  })
  .strict();
export type ModelScope = z.infer<typeof modelScopeSchema>;

/**
 * The scope assumed for a package that states none: what the commercial CXR products are cleared
 * for (adult frontal chest radiographs).
 */
export const DEFAULT_MODEL_SCOPE: ModelScope = Object.freeze({
  description: 'Adult frontal (PA or AP) chest radiographs, CR or DX, grey scale, single frame',
  modalities: ['CR', 'DX'],
  bodyParts: ['CHEST'],
  viewPositions: ['PA', 'AP'],
  photometricInterpretations: ['MONOCHROME1', 'MONOCHROME2'],
  ageYears: { min: 18, max: null },
  minImageSize: 256,
  singleFrame: true,
  outsideScope:
    'Images whose DICOM attributes fall outside the scope are not analysed (not-eligible, with the reason); images whose attributes are absent are read only if their pixels pass the out-of-distribution and image checks.',
}) as ModelScope;

/** The attributes of one instance that the scope is decided on (absent = undefined). */
export interface ScopeAttributes {
  hasPixelData: boolean;
  sopClassUid: string;
  modality?: string | undefined;
  bodyPartExamined?: string | undefined;
  viewPosition?: string | undefined;
  photometricInterpretation?: string | undefined;
  numberOfFrames: number;
  rows?: number | undefined;
  columns?: number | undefined;
  /** Patient age in years (from Patient's Age (0010,1010)); undefined when unknown. */
  patientAgeYears?: number | undefined;
}

export type ScopeDecision = { inScope: true; untested: string[] } | { inScope: false; reason: string };

const COLOUR = /^(RGB|YBR_|PALETTE)/;

function present(value: string | undefined): string | null {
  const v = (value ?? '').trim().toUpperCase();
  return v.length > 0 ? v : null;
}

/**
 * Decides by attributes alone. Out of scope only when an attribute that is there says so;
 * `untested` lists the attributes that were absent (left to the pixels).
 */
export function decideScopeByAttributes(scope: ModelScope, input: ScopeAttributes): ScopeDecision {
  if (!input.hasPixelData) return { inScope: false, reason: `no pixel data (SOP class ${input.sopClassUid}): not an image` };
  if (input.numberOfFrames !== 1) return { inScope: false, reason: `${input.numberOfFrames} frames: the model reads single-frame radiographs only` };
  const untested: string[] = [];
  const photometric = present(input.photometricInterpretation);
  if (photometric && COLOUR.test(photometric)) {
    return { inScope: false, reason: `a colour image (photometric interpretation ${photometric}), not a radiograph: the model reads grey-scale radiographs only` };
  }
  const checks: [string, string | null, string[], string][] = [
    ['modality', present(input.modality), scope.modalities, 'Modality'],
    ['body part', present(input.bodyPartExamined), scope.bodyParts, 'Body Part Examined'],
    ['view position', present(input.viewPosition), scope.viewPositions, 'View Position'],
    ['photometric interpretation', photometric, scope.photometricInterpretations, 'Photometric Interpretation'],
  ];
  for (const [what, value, allowed, attribute] of checks) {
    if (value === null) {
      untested.push(attribute);
      continue;
    }
    if (!allowed.includes(value)) return { inScope: false, reason: `${what} ${value} is outside the model's scope (${allowed.join(', ')}): ${scope.description}` };
  }
  const shorter = input.rows !== undefined && input.columns !== undefined ? Math.min(input.rows, input.columns) : undefined;
  if (shorter !== undefined && shorter < scope.minImageSize) {
    return { inScope: false, reason: `the image is ${input.columns}x${input.rows} pixels, smaller than the model reads (shorter side at least ${scope.minImageSize})` };
  }
  const age = input.patientAgeYears;
  if (age === undefined) untested.push("Patient's Age");
  else if ((scope.ageYears.min !== null && age < scope.ageYears.min) || (scope.ageYears.max !== null && age > scope.ageYears.max)) {
    const range = `${scope.ageYears.min ?? 0}${scope.ageYears.max === null ? '+' : `-${scope.ageYears.max}`}`;
    return { inScope: false, reason: `patient age ${formatAge(age)} is outside the model's scope (${range} years)` };
  }
  return { inScope: true, untested };
}

function formatAge(years: number): string {
  return years >= 2 ? `${Math.floor(years)} years` : `${Math.round(years * 12)} months`;
}

/**
 * Patient's Age (0010,1010), an AS value such as `045Y`, `018M`, `003W`, `010D`, in years;
 * undefined when absent or malformed (a malformed age is not trusted either way).
 */
export function parsePatientAge(value: string | undefined): number | undefined {
  const match = /^(\d{3})([DWMY])$/.exec((value ?? '').trim().toUpperCase());
  if (!match) return undefined;
  const n = Number(match[1]);
  const perYear = { D: 365.25, W: 52.1775, M: 12, Y: 1 }[match[2] as 'D' | 'W' | 'M' | 'Y'];
  return n / perYear;
}

/** Redis key where the worker publishes the scope of the model it serves (JSON `PublishedModelScope`). */
export const modelScopeKey = (queuePrefix: string): string => `${queuePrefix}:model:scope`;

export const publishedModelScopeSchema = z
  .object({ model: z.string().min(1).max(256), scope: modelScopeSchema, publishedAt: z.string() })
  .strict();
export type PublishedModelScope = z.infer<typeof publishedModelScopeSchema>;
