import { z } from 'zod';
import { isoDateTimeSchema } from './common.ts';

// Live monitoring of a model version (docs/model-package.md "validation", docs/operations.md
// "Model monitoring"). The package states what its positive rates and scores looked like on its
// validation set; the worker publishes that per version to Redis (`modelValidationKey`), and the
// report service compares the live rates with it in `GET /api/model-performance`.

/** Probability histograms everywhere use this many equal bins on [0, 1] (the last one includes 1). */
export const PROBABILITY_BINS = 10;

/** The bin of a probability (0..PROBABILITY_BINS-1). */
export function probabilityBin(probability: number): number {
  return Math.min(PROBABILITY_BINS - 1, Math.max(0, Math.floor(probability * PROBABILITY_BINS)));
}

const fractionSchema = z.number().min(0).max(1);

/** One finding on the validation set: share of images called positive, mean probability, score histogram. */
export const findingValidationSchema = z
  .object({
    positiveRate: fractionSchema,
    meanProbability: fractionSchema,
    /** Share of images in each of the PROBABILITY_BINS equal bins of the probability (sums to 1). */
    histogram: z.array(fractionSchema).length(PROBABILITY_BINS),
  })
  .strict();
export type FindingValidation = z.infer<typeof findingValidationSchema>;

/** The manifest's `validation` section: computed by `npm run model:validation-stats`, never typed by hand. */
export const modelValidationSchema = z
  .object({
    /** What the images were (e.g. "phantoms, seeds 2000000..2001999 (the validation split)"). */
    dataset: z.string().min(1).max(512),
    /** Images read (in scope) that the figures are over. */
    count: z.number().int().positive(),
    computedAt: isoDateTimeSchema,
    /** The command that computed it. */
    command: z.string().max(1024).optional(),
    findings: z.record(z.string().min(1).max(64), findingValidationSchema),
  })
  .strict();
export type ModelValidation = z.infer<typeof modelValidationSchema>;

/** Redis key where the worker publishes a version's validation figures (JSON `PublishedModelValidation`); kept per version, no expiry. */
export const modelValidationKey = (queuePrefix: string, model: string): string => `${queuePrefix}:model:validation:${model}`;

export const publishedModelValidationSchema = z
  .object({ model: z.string().min(1).max(256), validation: modelValidationSchema.nullable(), publishedAt: isoDateTimeSchema })
  .strict();
export type PublishedModelValidation = z.infer<typeof publishedModelValidationSchema>;

/** How a check of one finding came out over the window. */
export const driftStatusSchema = z.enum(['ok', 'drift', 'insufficient-data', 'no-reference']);
export type DriftStatus = z.infer<typeof driftStatusSchema>;

const rateOrNull = fractionSchema.nullable();

export const findingPerformanceSchema = z
  .object({
    code: z.string(),
    /** In-scope images the model read for this finding. */
    images: z.number().int().nonnegative(),
    positives: z.number().int().nonnegative(),
    positiveRate: rateOrNull,
    /** Counts per probability bin (PROBABILITY_BINS equal bins on [0, 1]). */
    histogram: z.array(z.number().int().nonnegative()).length(PROBABILITY_BINS),
    expected: z
      .object({ positiveRate: fractionSchema, lower: fractionSchema, upper: fractionSchema, histogram: z.array(fractionSchema).length(PROBABILITY_BINS) })
      .strict()
      .nullable(),
    /** Population stability index of the live histogram against the validation one (null without enough data or a reference). */
    scorePsi: z.number().nonnegative().nullable(),
    review: z
      .object({
        /** AI-positive findings the radiologist accepted / rejected when signing. */
        accepted: z.number().int().nonnegative(),
        rejected: z.number().int().nonnegative(),
        /** Studies whose signed text states the finding while the AI called it negative on every image. */
        added: z.number().int().nonnegative(),
        /** accepted / (accepted + rejected + added): the AI's calls the radiologist agreed with, among every positive call by either. */
        agreement: rateOrNull,
        /** The same over the window before this one (the drop check compares with it). */
        previousAgreement: rateOrNull,
      })
      .strict(),
    drift: z
      .object({
        positiveRate: driftStatusSchema,
        scoreDistribution: driftStatusSchema,
        agreement: driftStatusSchema,
        /** Sentences saying what is out of band (empty when nothing is). */
        reasons: z.array(z.string()),
      })
      .strict(),
  })
  .strict();
export type FindingPerformance = z.infer<typeof findingPerformanceSchema>;

export const shadowComparisonSchema = z
  .object({
    /** The version in service the shadow was compared with. */
    against: z.string(),
    studies: z.number().int().nonnegative(),
    /** Per finding, image-level: both positive, both negative, only the active version positive, only the shadow. */
    findings: z.record(
      z.string(),
      z.object({ bothPositive: z.number().int().nonnegative(), bothNegative: z.number().int().nonnegative(), activeOnly: z.number().int().nonnegative(), shadowOnly: z.number().int().nonnegative(), agreement: rateOrNull }).strict(),
    ),
  })
  .strict();
export type ShadowComparison = z.infer<typeof shadowComparisonSchema>;

export const modelVersionPerformanceSchema = z
  .object({
    /** `id@version`. */
    model: z.string(),
    /** `active`: its results were drafts; `shadow`: run beside the active version, never shown. */
    role: z.enum(['active', 'shadow']),
    studies: z.number().int().nonnegative(),
    images: z.number().int().nonnegative(),
    outOfScopeImages: z.number().int().nonnegative(),
    outOfScopeShare: rateOrNull,
    /** Studies received while this version's scope was published, and the share ingest found not eligible. */
    studiesReceived: z.number().int().nonnegative(),
    notEligibleStudies: z.number().int().nonnegative(),
    notEligibleShare: rateOrNull,
    signedStudies: z.number().int().nonnegative(),
    validation: z.object({ dataset: z.string(), count: z.number().int() }).strict().nullable(),
    findings: z.array(findingPerformanceSchema),
    shadow: shadowComparisonSchema.nullable(),
    /** True when any finding's check says drift. */
    drifting: z.boolean(),
  })
  .strict();
export type ModelVersionPerformance = z.infer<typeof modelVersionPerformanceSchema>;

/** `GET /api/model-performance` (admin). */
export const modelPerformanceResponseSchema = z
  .object({
    window: z.object({ since: isoDateTimeSchema, until: isoDateTimeSchema }).strict(),
    /** The bands and limits the drift checks used. */
    limits: z
      .object({
        positiveRateTolerance: z.number(),
        minImages: z.number().int(),
        scorePsiLimit: z.number(),
        agreementFloor: z.number(),
        agreementDrop: z.number(),
        minDecisions: z.number().int(),
      })
      .strict(),
    models: z.array(modelVersionPerformanceSchema),
    notice: z.string(),
  })
  .strict();
export type ModelPerformanceResponse = z.infer<typeof modelPerformanceResponseSchema>;
