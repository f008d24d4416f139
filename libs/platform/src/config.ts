import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { DEFAULT_TRACING_CONFIG, TRACES_SAMPLERS, otlpTracesUrl, parseKeyValueList, type TracingConfig } from './tracing.ts';

/**
 * Config is read once, in main.ts, from environment variables, validated with zod and passed
 * down. Errors name the variable. Values that every service shares live here.
 */
/** Settings whose names say they hold a secret: an error names them and the problem, never their value. */
const SECRET_SETTING = /SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL|AUTHORI[SZ]ATION|API_KEY|ACCESS_KEY|PRIVATE/i;

export interface ParseEnvOptions {
  /** More settings whose values are never shown in an error (e.g. a JSON list that may carry an authorization). */
  secret?: readonly string[];
}

/**
 * Parses the environment with `schema`; a ConfigError lists every problem, each naming its setting
 * (and where inside a structured value, e.g. `at [0].url`). The value is shown to help fix a typo,
 * except for settings that hold or may hold a secret (by name, or listed in `options.secret`).
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, options: ParseEnvOptions = {}): z.infer<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const inner = issue.path.slice(1).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      const at = inner ? ` at ${inner.replace(/^\./, '')}` : '';
      const value = env[name];
      if (value === undefined) return `${name}: missing setting (${issue.message})`;
      if (SECRET_SETTING.test(name) || options.secret?.includes(name)) return `${name}: malformed setting${at} (${issue.message}; the value is not shown, it may hold credentials)`;
      return `${name}: malformed setting ${JSON.stringify(value)}${at} (${issue.message})`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

export const portSchema = z.coerce.number().int().min(0).max(65535);
export const positiveIntSchema = z.coerce.number().int().positive();
export const booleanSchema = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const listSchema = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0));

/** The OpenTelemetry spec reads an empty variable as unset (compose and ConfigMaps leave them empty). */
function otel<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' ? undefined : v), schema);
}

/**
 * The standard OpenTelemetry variables the services honour (tracing.ts). Exporting is on when
 * an endpoint is set; OTLP over HTTP only (`grpc` is refused by name).
 */
const otelEnvShape = {
  OTEL_SDK_DISABLED: otel(booleanSchema.default(false)),
  OTEL_SERVICE_NAME: otel(z.string().min(1).optional()),
  OTEL_RESOURCE_ATTRIBUTES: otel(z.string().optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: otel(z.string().url().optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otel(z.string().url().optional()),
  OTEL_EXPORTER_OTLP_PROTOCOL: otel(z.enum(['http/protobuf', 'http/json']).optional()),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otel(z.enum(['http/protobuf', 'http/json']).optional()),
  OTEL_EXPORTER_OTLP_HEADERS: otel(z.string().optional()),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otel(z.string().optional()),
  OTEL_TRACES_SAMPLER: otel(z.enum(TRACES_SAMPLERS).default(DEFAULT_TRACING_CONFIG.sampler)),
  OTEL_TRACES_SAMPLER_ARG: otel(z.coerce.number().min(0).max(1).default(1)),
  /** Milliseconds between span batch exports (OTel default 5000). */
  OTEL_BSP_SCHEDULE_DELAY: otel(z.coerce.number().int().min(0).default(DEFAULT_TRACING_CONFIG.scheduleDelayMs)),
};

/** Settings shared by every service: where Redis and object storage are, bucket names, logging, tracing. */
export const sharedEnvSchema = z.object({
  ...otelEnvShape,
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('cxr'),
  S3_ENDPOINT: z.string().url().default('http://127.0.0.1:9000'),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY: z.string().min(1).default('S3RVER'),
  S3_SECRET_KEY: z.string().min(1).default('S3RVER'),
  BUCKET_ORIGINALS: z.string().min(3).default('dicom-originals'),
  BUCKET_DERIVED: z.string().min(3).default('cxr-derived'),
  BUCKET_REPORTS: z.string().min(3).default('cxr-reports'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type SharedEnv = z.infer<typeof sharedEnvSchema>;

export interface SharedConfig {
  redisUrl: string;
  queuePrefix: string;
  s3: { endpoint: string; region: string; accessKey: string; secretKey: string };
  buckets: { originals: string; derived: string; reports: string };
  logLevel: SharedEnv['LOG_LEVEL'];
  tracing: TracingConfig;
}

export function toTracingConfig(env: SharedEnv): TracingConfig {
  return {
    disabled: env.OTEL_SDK_DISABLED,
    tracesEndpoint: otlpTracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? DEFAULT_TRACING_CONFIG.protocol,
    headers: { ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerArg: env.OTEL_TRACES_SAMPLER_ARG,
    serviceName: env.OTEL_SERVICE_NAME,
    resourceAttributes: parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES),
  };
}

export function toSharedConfig(env: SharedEnv): SharedConfig {
  return {
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    s3: { endpoint: env.S3_ENDPOINT, region: env.S3_REGION, accessKey: env.S3_ACCESS_KEY, secretKey: env.S3_SECRET_KEY },
    buckets: { originals: env.BUCKET_ORIGINALS, derived: env.BUCKET_DERIVED, reports: env.BUCKET_REPORTS },
    logLevel: env.LOG_LEVEL,
    tracing: toTracingConfig(env),
  };
}
