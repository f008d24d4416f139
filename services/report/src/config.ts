import { z } from 'zod';
import { authEnvSchema, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toAuthConfig, toSharedConfig, type AuthConfig, type SharedConfig } from '@cxr/platform';

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
  };
}
