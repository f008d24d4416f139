import { z } from 'zod';
import { confidenceBandSchema, findingCodingSchema, imageScopeCheckSchema, isoDateTimeSchema, pseudonymKeySchema, regionSchema, sideSchema, textEditSchema, zoneSchema } from '@cxr/contracts';
import { confidenceBand } from '@cxr/drafting';

/**
 * The AI draft as the report service stores it (inside a revision in the reports bucket).
 * Internal to this service, but it is read back from storage, so it has a schema.
 * Pseudonymous: instance keys, not SOP Instance UIDs (those are joined in when served).
 */
export const draftFindingSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    code: z.string().min(1).max(64),
    display: z.string(),
    coding: findingCodingSchema.nullable(),
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    positive: z.boolean(),
    peak: z.object({ x: z.number(), y: z.number() }).strict(),
    /**
     * Raw 8-bit heatmap PNG stored on its own in the derived bucket (analyses written before heatmaps
     * were inlined). Absent: the heatmap is inline in the analysis result of this draft's study and
     * version (`results/{studyKey}/v{version}/result.json`, finding `heatmapPng`).
     */
    heatmapKey: z.string().min(1).optional(),
    /** Colour-mapped overlay in the reports bucket. */
    overlayKey: z.string().min(1),
    // Added after the first drafts were stored: optional here, so older revisions still parse,
    // and always present once parsed (the band is worked out from probability and threshold).
    confidence: confidenceBandSchema.optional(),
    /** Patient side, lung zone and hot area of the heatmap (see finding-geometry.ts); null where they do not apply. */
    side: sideSchema.nullable().default(null),
    zone: zoneSchema.nullable().default(null),
    region: regionSchema.nullable().default(null),
  })
  .strict()
  .transform((finding) => ({ ...finding, confidence: finding.confidence ?? confidenceBand(finding.probability, finding.threshold) }));
export type DraftFinding = z.infer<typeof draftFindingSchema>;

export const draftOutOfScopeSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    check: imageScopeCheckSchema,
    /** The sentence shown to the radiologist (`outOfScopeSentence`). */
    reason: z.string(),
    score: z.number().nullable(),
    limit: z.number().nullable(),
  })
  .strict();
export type DraftOutOfScope = z.infer<typeof draftOutOfScopeSchema>;

/** A report's sections as stored (in the draft and in each revision). */
export const draftSectionsSchema = z.object({ findings: z.string(), impression: z.string(), indication: z.string().optional(), comparison: z.string().optional() }).strict();
export type DraftSections = z.infer<typeof draftSectionsSchema>;

export const reportDraftSchema = z
  .object({
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    analysisId: z.string(),
    model: z.object({ id: z.string(), version: z.string(), sha256: z.string(), executionProvider: z.string() }).strict(),
    /** `indication`: the clinical question from the analysis result (absent when the order gave none, and in older drafts); `comparison`: the COMPARISON section, when ingest looked for priors (absent in older drafts). */
    sections: draftSectionsSchema,
    /** Disclaimer line, then INDICATION and COMPARISON (when there are), FINDINGS and IMPRESSION. */
    text: z.string(),
    findings: z.array(draftFindingSchema),
    /** Images the model refused as outside its scope: no findings or text come from them (absent in older drafts). */
    outOfScope: z.array(draftOutOfScopeSchema).default([]),
    /**
     * What the consistency checks changed in the model's text (@cxr/drafting composeDraftText);
     * absent in drafts composed before the checks existed.
     */
    textEdits: z.array(textEditSchema).optional(),
    composedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportDraft = z.infer<typeof reportDraftSchema>;
