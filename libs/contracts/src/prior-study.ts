import { z } from 'zod';
import { pseudonymKeySchema } from './common.ts';

/**
 * ingest → report (inside `study-received`): the same patient's earlier chest radiographs that
 * ingest found (in its own store, matched by the pseudonym of Patient ID + Issuer, or retrieved
 * from a PACS and ingested like any other study), and the PACS that did not answer in time.
 * Pseudonymous like the rest of the event: the prior is named by its study key; its findings are
 * its own analysis (the report service reads them from the prior's report).
 */
export const priorStudySchema = z
  .object({
    studyKey: pseudonymKeySchema,
    /** Study Date (0008,0020) of the prior, `YYYY-MM-DD`: the report says "Compared with" it. */
    studyDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD'),
    /** Where it was found: ingest's own store, or the configured PACS of that name. */
    source: z.string().min(1).max(64),
  })
  .strict();
export type PriorStudy = z.infer<typeof priorStudySchema>;

export const priorLookupSchema = z
  .object({
    /** Most recent first; at most ingest's INGEST_PRIORS_MAX. */
    priors: z.array(priorStudySchema).max(20),
    /** PACS that did not answer within the wait bound, or failed: the comparison may be incomplete. */
    unanswered: z
      .array(z.object({ source: z.string().min(1).max(64), reason: z.enum(['timed-out', 'failed']), detail: z.string().max(512) }).strict())
      .max(20),
  })
  .strict();
export type PriorLookup = z.infer<typeof priorLookupSchema>;
