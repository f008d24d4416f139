import { z } from 'zod';
import { authEnvSchema, booleanSchema, ConfigError, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toAuthConfig, toSharedConfig, type AuthConfig, type SharedConfig } from '@cxr/platform';

/**
 * What a PACS export sends: the report's SR (TID 2000) and the overlays (Secondary Capture) as
 * before, and the AI results as standard objects: the TID 1500 measurement report (`ai-sr`), the
 * heatmaps as Parametric Maps (`pmap`) and as fractional Segmentations (`seg`).
 */
export const PACS_OBJECTS = ['report-sr', 'overlays', 'ai-sr', 'pmap', 'seg'] as const;
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
  };
}
