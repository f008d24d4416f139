import { z } from 'zod';
import { DEFAULT_DRIFT_LIMITS, type DriftLimits } from './monitoring/drift.ts';
import { MAX_WINDOW_MS } from './monitoring/performance-store.ts';
import { parseDuration } from './monitoring/report-window.ts';
import { authEnvSchema, booleanSchema, ConfigError, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toAuthConfig, toSharedConfig, type AuthConfig, type SharedConfig } from '@cxr/platform';

/**
 * What a PACS export sends: the report's SR (TID 2000) and the overlays (Secondary Capture) as
 * before, and the AI results as standard objects: the TID 1500 measurement report (`ai-sr`), the
 * heatmaps as Parametric Maps (`pmap`), as fractional Segmentations (`seg`) and as binary
 * Segmentations of the findings called present at their thresholds (`seg-binary`).
 */
export const PACS_OBJECTS = ['report-sr', 'overlays', 'ai-sr', 'pmap', 'seg', 'seg-binary'] as const;
export type PacsObject = (typeof PACS_OBJECTS)[number];
export const DEFAULT_PACS_OBJECTS: readonly PacsObject[] = Object.freeze(['report-sr', 'overlays']);

const pacsObjectsSchema = z
  .string()
  .transform((value) => [...new Set(value.split(',').map((name) => name.trim()).filter((name) => name !== ''))])
  .refine((names) => names.length > 0 && names.every((name) => (PACS_OBJECTS as readonly string[]).includes(name)), {
    message: `expected a comma-separated list of some of ${PACS_OBJECTS.join(', ')}`,
  })
  .transform((names) => names as PacsObject[]);

/** Environment variables of the report service, on top of the ones every service shares. */
export const envSchema = sharedEnvSchema.extend({
  REPORT_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  REPORT_HTTP_PORT: portSchema.default(8090),
  /** Base of the absolute overlay / heatmap URLs in report JSON (what the viewer can reach). */
  REPORT_PUBLIC_URL: z.string().url().default('http://127.0.0.1:8090'),
  REPORT_EVENTS_CONCURRENCY: positiveIntSchema.max(64).default(4),
  /**
   * Longest a draft waits for a prior's analysis that is still running before it is composed
   * without the comparison ("Prior study of ... not yet analysed"), ms. Ingest queues the prior's
   * analysis with the study's, so the wait is usually one model run. 0: never wait.
   */
  REPORT_PRIOR_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** HMAC key of the short-lived image URLs; replicas must share it. Default: random per process. */
  REPORT_URL_SIGNING_SECRET: z.string().min(32).optional(),
  REPORT_URL_TTL_SECONDS: positiveIntSchema.max(3600).default(300),
  /** Finding codes that put a study at the top of the worklist, comma-separated. */
  REPORT_URGENT_FINDINGS: z
    .string()
    .regex(/^\s*[A-Za-z0-9._-]{1,64}(\s*,\s*[A-Za-z0-9._-]{1,64})*\s*$/, 'expected comma-separated finding codes')
    .default('pneumothorax')
    .transform((value) => [...new Set(value.split(',').map((code) => code.trim()))]),
  /** DICOMweb base of the PACS (STOW-RS posts to `{base}/studies`); empty: sending to a PACS is off. */
  REPORT_PACS_STOW_URL: z.union([z.literal(''), z.string().url().regex(/^https?:\/\//i, 'expected an http(s) URL')]).default(''),
  /** Authorization header value for the PACS (`Basic ...`, `Bearer ...`): a secret, never echoed (checked in loadConfig). */
  REPORT_PACS_AUTHORIZATION: z.string().optional(),
  /** Queue the PACS export when a report is signed. */
  REPORT_PACS_SEND_ON_SIGN: booleanSchema.default(false),
  /** How long an export keeps being retried while the PACS cannot take it (hold-and-resend). */
  REPORT_PACS_MAX_HOLD_HOURS: positiveIntSchema.max(24 * 90).default(72),
  /** Which objects a PACS export sends (see PACS_OBJECTS), comma-separated. */
  REPORT_PACS_OBJECTS: pacsObjectsSchema.default([...DEFAULT_PACS_OBJECTS]),
  /** TCP port of the HL7 v2 (MLLP) listener for ORU^R01 final reports; empty: no listener. 2575 is HL7's registered port. */
  REPORT_HL7_PORT: z.union([z.literal(''), portSchema]).default(''),
  REPORT_HL7_HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest HL7 message taken in; a longer one is refused (AR) and its connection closed. */
  REPORT_HL7_MAX_MESSAGE_BYTES: positiveIntSchema.min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  REPORT_HL7_IDLE_TIMEOUT_SECONDS: positiveIntSchema.max(3600).default(300),
  REPORT_HL7_MAX_CONNECTIONS: positiveIntSchema.max(1024).default(32),
  /** MSH-3 / MSH-4 of the ACKs the listener sends. */
  REPORT_HL7_APPLICATION: z.string().regex(/^[A-Za-z0-9 ._-]{1,64}$/, 'expected 1-64 letters, digits, spaces, dots, dashes').default('CXR-REPORT'),
  REPORT_HL7_FACILITY: z.string().regex(/^[A-Za-z0-9 ._-]{0,64}$/, 'expected up to 64 letters, digits, spaces, dots, dashes').default(''),
  /** Largest body of the HTTP final-report routes (text/plain or FHIR JSON). */
  REPORT_FINAL_REPORT_MAX_BYTES: positiveIntSchema.min(1024).max(16 * 1024 * 1024).default(512 * 1024),
  /** Compare a report signed in our own review flow with the AI too. */
  REPORT_SECOND_READ_ON_SIGN: booleanSchema.default(true),
  /** Model monitoring (docs/operations.md "Model monitoring"): how long the hourly counts are kept. */
  REPORT_PERFORMANCE_RETENTION_DAYS: positiveIntSchema.max(3650).default(400),
  /** The window the drift checks (and the /metrics drift gauges) look at: `7d`, `24h`, `90m` (at most 92 days). */
  REPORT_DRIFT_WINDOW: z
    .string()
    .default('7d')
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null || ms > MAX_WINDOW_MS) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 7d, 24h or 90m, at most 92d' });
        return z.NEVER;
      }
      return ms;
    }),
  /** A live positive rate further than this from the validation rate is drift (absolute, 0..1). */
  REPORT_DRIFT_RATE_TOLERANCE: z.coerce.number().gt(0).lt(1).default(DEFAULT_DRIFT_LIMITS.positiveRateTolerance),
  /** Images a finding needs in the window before its rate and score checks say anything. */
  REPORT_DRIFT_MIN_IMAGES: positiveIntSchema.default(DEFAULT_DRIFT_LIMITS.minImages),
  /** Population stability index of the probability histogram above which the scores have shifted. */
  REPORT_DRIFT_PSI_LIMIT: z.coerce.number().gt(0).default(DEFAULT_DRIFT_LIMITS.scorePsiLimit),
  /** Agreement with signing radiologists below this is drift (0..1). */
  REPORT_AGREEMENT_FLOOR: z.coerce.number().min(0).max(1).default(DEFAULT_DRIFT_LIMITS.agreementFloor),
  /** A fall in agreement of more than this from the window before is drift (0..1). */
  REPORT_AGREEMENT_DROP: z.coerce.number().gt(0).max(1).default(DEFAULT_DRIFT_LIMITS.agreementDrop),
  /** Reviewed calls a finding needs in a window before its agreement is checked. */
  REPORT_AGREEMENT_MIN_DECISIONS: positiveIntSchema.default(DEFAULT_DRIFT_LIMITS.minDecisions),
}).extend(authEnvSchema.shape);

export interface ReportConfig extends SharedConfig {
  http: { host: string; port: number };
  /** Without a trailing slash. */
  publicUrl: string;
  eventsConcurrency: number;
  priorWaitMs: number;
  auth: AuthConfig;
  /** Undefined: make a random one at startup. */
  urlSigningSecret: string | undefined;
  urlTtlSeconds: number;
  /** Finding codes that put a study at the top of the worklist. */
  urgentFindings: string[];
  /** Sending reports to the PACS over STOW-RS; `stowUrl` undefined: off. */
  pacs: PacsConfig;
  /** The second read of final reports (second-read/). */
  secondRead: SecondReadConfig;
  /** Model monitoring: retention of the counts, the drift window and the limits of its checks. */
  monitoring: { retentionDays: number; driftWindowMs: number; limits: DriftLimits };
}

export interface SecondReadConfig {
  /** The HL7 MLLP listener; undefined: off. */
  hl7: { host: string; port: number; maxMessageBytes: number; idleTimeoutMs: number; maxConnections: number; application: string; facility: string } | undefined;
  maxBodyBytes: number;
  onSign: boolean;
}

export interface PacsConfig {
  /** DICOMweb base without a trailing slash, or undefined (feature off). */
  stowUrl: string | undefined;
  /** Authorization header value (secret). */
  authorization: string | undefined;
  sendOnSign: boolean;
  maxHoldHours: number;
  /** What an export sends. */
  objects: readonly PacsObject[];
}

/** The PACS settings; errors name the setting but never echo its value (credentials). */
function toPacsConfig(parsed: z.infer<typeof envSchema>): PacsConfig {
  const stowUrl = parsed.REPORT_PACS_STOW_URL.replace(/\/+$/, '') || undefined;
  if (stowUrl) {
    const url = new URL(stowUrl);
    if (url.username || url.password) {
      throw new ConfigError('Invalid configuration:\n  REPORT_PACS_STOW_URL: credentials in the URL are not allowed (put them in REPORT_PACS_AUTHORIZATION)');
    }
  }
  const authorization = parsed.REPORT_PACS_AUTHORIZATION?.trim() || undefined;
  if (authorization !== undefined && !/^[\x20-\x7e]+$/.test(authorization)) {
    throw new ConfigError('Invalid configuration:\n  REPORT_PACS_AUTHORIZATION: malformed setting (printable ASCII on one line expected; value not shown)');
  }
  if (parsed.REPORT_PACS_SEND_ON_SIGN && !stowUrl) {
    throw new ConfigError('Invalid configuration:\n  REPORT_PACS_SEND_ON_SIGN: needs REPORT_PACS_STOW_URL');
  }
  return { stowUrl, authorization, sendOnSign: parsed.REPORT_PACS_SEND_ON_SIGN, maxHoldHours: parsed.REPORT_PACS_MAX_HOLD_HOURS, objects: parsed.REPORT_PACS_OBJECTS };
}

export function loadConfig(env: NodeJS.ProcessEnv): ReportConfig {
  const parsed = parseEnv(envSchema, env);
  return {
    ...toSharedConfig(parsed),
    http: { host: parsed.REPORT_HTTP_HOST, port: parsed.REPORT_HTTP_PORT },
    publicUrl: parsed.REPORT_PUBLIC_URL.replace(/\/+$/, ''),
    eventsConcurrency: parsed.REPORT_EVENTS_CONCURRENCY,
    priorWaitMs: parsed.REPORT_PRIOR_WAIT_MS,
    auth: toAuthConfig(parsed),
    urlSigningSecret: parsed.REPORT_URL_SIGNING_SECRET,
    urlTtlSeconds: parsed.REPORT_URL_TTL_SECONDS,
    urgentFindings: parsed.REPORT_URGENT_FINDINGS,
    pacs: toPacsConfig(parsed),
    secondRead: {
      hl7:
        parsed.REPORT_HL7_PORT === ''
          ? undefined
          : {
              host: parsed.REPORT_HL7_HOST,
              port: parsed.REPORT_HL7_PORT,
              maxMessageBytes: parsed.REPORT_HL7_MAX_MESSAGE_BYTES,
              idleTimeoutMs: parsed.REPORT_HL7_IDLE_TIMEOUT_SECONDS * 1000,
              maxConnections: parsed.REPORT_HL7_MAX_CONNECTIONS,
              application: parsed.REPORT_HL7_APPLICATION,
              facility: parsed.REPORT_HL7_FACILITY,
            },
      maxBodyBytes: parsed.REPORT_FINAL_REPORT_MAX_BYTES,
      onSign: parsed.REPORT_SECOND_READ_ON_SIGN,
    },
    monitoring: {
      retentionDays: parsed.REPORT_PERFORMANCE_RETENTION_DAYS,
      driftWindowMs: parsed.REPORT_DRIFT_WINDOW,
      limits: {
        positiveRateTolerance: parsed.REPORT_DRIFT_RATE_TOLERANCE,
        minImages: parsed.REPORT_DRIFT_MIN_IMAGES,
        scorePsiLimit: parsed.REPORT_DRIFT_PSI_LIMIT,
        agreementFloor: parsed.REPORT_AGREEMENT_FLOOR,
        agreementDrop: parsed.REPORT_AGREEMENT_DROP,
        minDecisions: parsed.REPORT_AGREEMENT_MIN_DECISIONS,
      },
    },
  };
}
