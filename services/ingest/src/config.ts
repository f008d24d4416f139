import { z } from 'zod';
import { ANALYSIS_INPUT_LONG_SIDE } from '@cxr/contracts';
import {
  authEnvSchema, booleanSchema, listSchema, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toSharedConfig,
  toAuthConfig, type AuthConfig, type SharedConfig,
} from '@cxr/platform';

const aeTitleSchema = z.string().regex(/^[\x20-\x7e]{1,16}$/, 'an AE title is 1-16 printable ASCII characters');
const pacsNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a PACS name is 1-64 letters, digits, _ . -');

/** One PACS the prior look-up asks (INGEST_PRIORS_PACS is a JSON array of these). */
export const priorPacsSchema = z.discriminatedUnion('kind', [
  z
    .object({
      name: pacsNameSchema,
      kind: z.literal('dicomweb'),
      /** DICOMweb root, e.g. `http://pacs:8042/dicom-web/` (QIDO-RS and WADO-RS below it). */
      url: z.string().url(),
      /** Authorization header value sent with each request (e.g. `Basic ...`). */
      authorization: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      name: pacsNameSchema,
      kind: z.literal('dimse'),
      host: z.string().min(1),
      port: portSchema,
      /** The PACS's AE title. */
      aeTitle: aeTitleSchema,
      /** C-GET (no set-up on the PACS beyond our AE) or C-MOVE to ingest's own storage SCP (the PACS must know INGEST_AE_TITLE at our address). */
      retrieve: z.enum(['get', 'move']).default('get'),
    })
    .strict(),
]);
export type PriorPacs = z.infer<typeof priorPacsSchema>;

const pacsListSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of PACS' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(priorPacsSchema)
      .max(8)
      .refine((list) => new Set(list.map((p) => p.name)).size === list.length, 'PACS names must differ')
      .refine((list) => list.every((p) => p.name !== 'local'), '"local" names ingest\'s own store'),
  );

export const envSchema = sharedEnvSchema.extend({
  INGEST_DIMSE_HOST: z.string().default('127.0.0.1'),
  INGEST_DIMSE_PORT: portSchema.default(11112),
  INGEST_AE_TITLE: z.string().regex(/^[\x20-\x7e]{1,16}$/).default('INGEST'),
  /** Comma-separated calling AE titles allowed to associate; empty = any. */
  INGEST_ALLOWED_CALLING_AETS: listSchema.default([]),
  INGEST_MAX_ASSOCIATIONS: positiveIntSchema.default(16),
  INGEST_MAX_PDU_LENGTH: z.coerce.number().int().min(4096).max(131072).default(131072),
  INGEST_HTTP_HOST: z.string().default('127.0.0.1'),
  INGEST_HTTP_PORT: portSchema.default(8080),
  /** Largest single instance accepted (DIMSE and STOW-RS). */
  INGEST_MAX_INSTANCE_BYTES: positiveIntSchema.default(512 * 1024 * 1024),
  /** Largest STOW-RS request; the body is held in memory while its parts are stored. */
  INGEST_STOW_MAX_REQUEST_BYTES: positiveIntSchema.default(256 * 1024 * 1024),
  /**
   * API keys for STOW-RS senders, `name:key` pairs separated by commas. Empty = no
   * authentication (local runs only; the service logs a warning).
   */
  INGEST_STOW_API_KEYS: listSchema.default([]),
  /**
   * Refuse STOW-RS requests without credentials even when no API keys are configured (senders
   * then use bearer tokens with the integration role; AUTH_* settings name the issuer).
   */
  INGEST_STOW_REQUIRE_AUTH: booleanSchema.default(false),
  /** A STOW-RS study is complete when no instance arrived for this long. */
  INGEST_STUDY_STABLE_MS: positiveIntSchema.default(3000),
  INGEST_STUDY_CONCURRENCY: positiveIntSchema.default(2),
  /** Secret for pseudonymous keys handed to analysis. Change it in production. */
  PSEUDONYM_SECRET: z.string().min(16).default('local-development-pseudonym-secret'),
  /** Long side of the stored presentation image (px). */
  INGEST_ANALYSIS_MAX_SIZE: positiveIntSchema.default(1024),
  /**
   * Long side of the worker's raw analysis input (px): the model's input size, so the worker's
   * letterbox needs no resize. A model that takes more pixels makes the worker read the
   * presentation image instead (slower, never wrong). At most 4096: model inputs are a few hundred
   * pixels, and a larger input would only cost every worker a bigger GET.
   */
  INGEST_ANALYSIS_INPUT_SIZE: positiveIntSchema.max(4096).default(ANALYSIS_INPUT_LONG_SIDE),
  /** Most prior studies of the same patient compared with a new study (0: no prior look-up at all). */
  INGEST_PRIORS_MAX: z.coerce.number().int().min(0).max(10).default(2),
  /** Oldest prior considered, in days before the new study's date. */
  INGEST_PRIORS_MAX_AGE_DAYS: positiveIntSchema.max(36_500).default(1825),
  /** Longest the look-up waits for one PACS (find and retrieve together), ms; a PACS that takes longer is left out and the draft says so. */
  INGEST_PRIORS_WAIT_MS: positiveIntSchema.max(600_000).default(10_000),
  /** PACS asked for priors, a JSON array: `[{"name":"main","kind":"dicomweb","url":"http://pacs/dicom-web/"},{"name":"old","kind":"dimse","host":"10.1.2.3","port":104,"aeTitle":"PACS","retrieve":"move"}]`. Empty: own store only. */
  INGEST_PRIORS_PACS: pacsListSchema.default([]),
}).extend(authEnvSchema.shape);

export interface IngestConfig extends SharedConfig {
  dimse: {
    host: string;
    port: number;
    aeTitle: string;
    allowedCallingAeTitles: string[];
    maxAssociations: number;
    maxPduLength: number;
  };
  http: { host: string; port: number };
  maxInstanceBytes: number;
  stow: { maxRequestBytes: number; apiKeys: Map<string, string>; requireAuth: boolean };
  /** Issuer of the bearer tokens STOW-RS senders may use instead of API keys. */
  auth: AuthConfig;
  studyStableMs: number;
  studyConcurrency: number;
  pseudonymSecret: string;
  analysisMaxSize: number;
  analysisInputSize: number;
  priors: { max: number; maxAgeDays: number; waitMs: number; pacs: PriorPacs[] };
}

export function loadConfig(env: NodeJS.ProcessEnv): IngestConfig {
  const e = parseEnv(envSchema, env);
  const apiKeys = new Map<string, string>();
  for (const pair of e.INGEST_STOW_API_KEYS) {
    const at = pair.indexOf(':');
    if (at <= 0 || at === pair.length - 1) {
      throw new Error('INGEST_STOW_API_KEYS: malformed setting (expected name:key pairs separated by commas)');
    }
    apiKeys.set(pair.slice(at + 1), pair.slice(0, at));
  }
  return {
    ...toSharedConfig(e),
    dimse: {
      host: e.INGEST_DIMSE_HOST,
      port: e.INGEST_DIMSE_PORT,
      aeTitle: e.INGEST_AE_TITLE,
      allowedCallingAeTitles: e.INGEST_ALLOWED_CALLING_AETS,
      maxAssociations: e.INGEST_MAX_ASSOCIATIONS,
      maxPduLength: e.INGEST_MAX_PDU_LENGTH,
    },
    http: { host: e.INGEST_HTTP_HOST, port: e.INGEST_HTTP_PORT },
    maxInstanceBytes: e.INGEST_MAX_INSTANCE_BYTES,
    stow: { maxRequestBytes: e.INGEST_STOW_MAX_REQUEST_BYTES, apiKeys, requireAuth: e.INGEST_STOW_REQUIRE_AUTH },
    auth: toAuthConfig(e),
    studyStableMs: e.INGEST_STUDY_STABLE_MS,
    studyConcurrency: e.INGEST_STUDY_CONCURRENCY,
    pseudonymSecret: e.PSEUDONYM_SECRET,
    analysisMaxSize: e.INGEST_ANALYSIS_MAX_SIZE,
    analysisInputSize: e.INGEST_ANALYSIS_INPUT_SIZE,
    priors: { max: e.INGEST_PRIORS_MAX, maxAgeDays: e.INGEST_PRIORS_MAX_AGE_DAYS, waitMs: e.INGEST_PRIORS_WAIT_MS, pacs: e.INGEST_PRIORS_PACS },
  };
}
