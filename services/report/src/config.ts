import { z } from 'zod';
import { DEFAULT_DRIFT_LIMITS, type DriftLimits } from './monitoring/drift.ts';
import { MAX_WINDOW_MS } from './monitoring/performance-store.ts';
import { parseDuration } from './monitoring/report-window.ts';
import { authEnvSchema, booleanSchema, ConfigError, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toAuthConfig, toSharedConfig, type AuthConfig, type SharedConfig } from '@cxr/platform';

/** Environment variables of the report service, on top of the ones every service shares. */
export const envSchema = sharedEnvSchema.extend({
  REPORT_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  REPORT_HTTP_PORT: portSchema.default(8090),
  /** Base of the absolute overlay / heatmap URLs in report JSON (what the viewer can reach). */
  REPORT_PUBLIC_URL: z.string().url().default('http://127.0.0.1:8090'),
  REPORT_EVENTS_CONCURRENCY: positiveIntSchema.max(64).default(4),
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
  auth: AuthConfig;
  /** Undefined: make a random one at startup. */
  urlSigningSecret: string | undefined;
  urlTtlSeconds: number;
  /** Finding codes that put a study at the top of the worklist. */
  urgentFindings: string[];
  /** Sending reports to the PACS over STOW-RS; `stowUrl` undefined: off. */
  pacs: PacsConfig;
  /** Model monitoring: retention of the counts, the drift window and the limits of its checks. */
  monitoring: { retentionDays: number; driftWindowMs: number; limits: DriftLimits };
}

export interface PacsConfig {
  /** DICOMweb base without a trailing slash, or undefined (feature off). */
  stowUrl: string | undefined;
  /** Authorization header value (secret). */
  authorization: string | undefined;
  sendOnSign: boolean;
  maxHoldHours: number;
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
  return { stowUrl, authorization, sendOnSign: parsed.REPORT_PACS_SEND_ON_SIGN, maxHoldHours: parsed.REPORT_PACS_MAX_HOLD_HOURS };
}

export function loadConfig(env: NodeJS.ProcessEnv): ReportConfig {
  const parsed = parseEnv(envSchema, env);
  return {
    ...toSharedConfig(parsed),
    http: { host: parsed.REPORT_HTTP_HOST, port: parsed.REPORT_HTTP_PORT },
    publicUrl: parsed.REPORT_PUBLIC_URL.replace(/\/+$/, ''),
    eventsConcurrency: parsed.REPORT_EVENTS_CONCURRENCY,
    auth: toAuthConfig(parsed),
    urlSigningSecret: parsed.REPORT_URL_SIGNING_SECRET,
    urlTtlSeconds: parsed.REPORT_URL_TTL_SECONDS,
    urgentFindings: parsed.REPORT_URGENT_FINDINGS,
    pacs: toPacsConfig(parsed),
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
