import { z } from 'zod';
import { ANALYSIS_INPUT_LONG_SIDE } from '@cxr/contracts';
import {
  authEnvSchema, booleanSchema, listSchema, parseEnv, portSchema, positiveIntSchema, sharedEnvSchema, toSharedConfig,
  toAuthConfig, type AuthConfig, type SharedConfig,
} from '@cxr/platform';
import type { StorageRetryPolicy } from './storage/resilient-object-store.ts';

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
  /** ARTIM: from TCP accept to a complete A-ASSOCIATE-RQ, at most this long; bytes do not extend it. */
  INGEST_ARTIM_TIMEOUT_MS: positiveIntSchema.default(30_000),
  /** An established association sending nothing between messages is aborted after this long. */
  INGEST_DIMSE_IDLE_TIMEOUT_MS: positiveIntSchema.default(60_000),
  /** Connections without an association (yet), at once; when full the oldest is dropped. They take no association slot. */
  INGEST_MAX_PENDING_CONNECTIONS: positiveIntSchema.default(64),
  /** DIMSE connections from one IP address, associated or not. */
  INGEST_MAX_CONNECTIONS_PER_PEER: positiveIntSchema.default(32),
  /** DIMSE associations from one IP address. */
  INGEST_MAX_ASSOCIATIONS_PER_PEER: positiveIntSchema.default(8),
  /** DIMSE associations per calling AE title. */
  INGEST_MAX_ASSOCIATIONS_PER_AE: positiveIntSchema.default(8),
  /** A DIMSE message or STOW-RS body being received must bring at least this many bytes/s over each window (0 = no minimum). */
  INGEST_MIN_RECEIVE_BYTES_PER_S: z.coerce.number().int().min(0).default(8192),
  INGEST_RECEIVE_WINDOW_MS: positiveIntSchema.default(10_000),
  /** From a DIMSE message's first byte to its last, at most this long. */
  INGEST_DIMSE_MESSAGE_TIMEOUT_MS: positiveIntSchema.default(600_000),
  /**
   * Memory for instances being received, DIMSE and STOW-RS together. Default: a quarter of the
   * cgroup memory limit, or 1 GiB without one.
   */
  INGEST_RECEIVE_MEMORY_BYTES: positiveIntSchema.optional(),
  /** STOW-RS request bodies read at once; more are answered 503 with Retry-After. */
  INGEST_STOW_MAX_CONCURRENT: positiveIntSchema.default(4),
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
  /** An object-storage request idle this long (no byte either way) is abandoned. */
  INGEST_S3_TIMEOUT_MS: positiveIntSchema.default(3000),
  /** Tries per object-storage call, the first included (transient failures only). */
  INGEST_S3_ATTEMPTS: positiveIntSchema.max(10).default(3),
  /** Backoff before the first retry, doubled for each further one (plus jitter). */
  INGEST_S3_BACKOFF_MS: positiveIntSchema.default(100),
  /** Longest each readiness check (Redis, storage) may take before it counts as down. */
  INGEST_READY_TIMEOUT_MS: positiveIntSchema.max(5000).default(500),
  /** How often the reconciler looks for recorded studies whose completion was never scheduled. */
  INGEST_RECONCILE_INTERVAL_MS: positiveIntSchema.default(60_000),
  /**
   * A study recorded this long ago and still not completed gets its completion scheduled. Longer
   * than the DIMSE fallback completion (5 minutes), so a study the normal paths will complete is left to them.
   */
  INGEST_RECONCILE_GRACE_MS: positiveIntSchema.default(10 * 60_000),
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
    artimTimeoutMs: number;
    idleTimeoutMs: number;
    maxPendingConnections: number;
    maxConnectionsPerPeer: number;
    maxAssociationsPerPeer: number;
    maxAssociationsPerCallingAe: number;
    messageTimeoutMs: number;
  };
  /** Minimum rate of data being received (DIMSE messages, STOW-RS bodies), over each window. */
  receiveRate: { minBytesPerSecond: number; windowMs: number };
  /** The receive memory budget's setting; undefined = derived from the cgroup (see receive/memory-budget.ts). */
  receiveMemoryBytes: number | undefined;
  http: { host: string; port: number };
  maxInstanceBytes: number;
  stow: { maxRequestBytes: number; maxConcurrent: number; apiKeys: Map<string, string>; requireAuth: boolean };
  /** Issuer of the bearer tokens STOW-RS senders may use instead of API keys. */
  auth: AuthConfig;
  studyStableMs: number;
  studyConcurrency: number;
  pseudonymSecret: string;
  analysisMaxSize: number;
  analysisInputSize: number;
  storage: StorageRetryPolicy;
  readyTimeoutMs: number;
  reconcile: { intervalMs: number; graceMs: number };
  priors: { max: number; maxAgeDays: number; waitMs: number; pacs: PriorPacs[] };
}

export function loadConfig(env: NodeJS.ProcessEnv): IngestConfig {
  // INGEST_PRIORS_PACS may carry a DICOMweb authorization: its errors never echo it.
  const e = parseEnv(envSchema, env, { secret: ['INGEST_PRIORS_PACS'] });
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
      artimTimeoutMs: e.INGEST_ARTIM_TIMEOUT_MS,
      idleTimeoutMs: e.INGEST_DIMSE_IDLE_TIMEOUT_MS,
      maxPendingConnections: e.INGEST_MAX_PENDING_CONNECTIONS,
      maxConnectionsPerPeer: e.INGEST_MAX_CONNECTIONS_PER_PEER,
      maxAssociationsPerPeer: e.INGEST_MAX_ASSOCIATIONS_PER_PEER,
      maxAssociationsPerCallingAe: e.INGEST_MAX_ASSOCIATIONS_PER_AE,
      messageTimeoutMs: e.INGEST_DIMSE_MESSAGE_TIMEOUT_MS,
    },
    receiveRate: { minBytesPerSecond: e.INGEST_MIN_RECEIVE_BYTES_PER_S, windowMs: e.INGEST_RECEIVE_WINDOW_MS },
    receiveMemoryBytes: e.INGEST_RECEIVE_MEMORY_BYTES,
    http: { host: e.INGEST_HTTP_HOST, port: e.INGEST_HTTP_PORT },
    maxInstanceBytes: e.INGEST_MAX_INSTANCE_BYTES,
    stow: { maxRequestBytes: e.INGEST_STOW_MAX_REQUEST_BYTES, maxConcurrent: e.INGEST_STOW_MAX_CONCURRENT, apiKeys, requireAuth: e.INGEST_STOW_REQUIRE_AUTH },
    auth: toAuthConfig(e),
    studyStableMs: e.INGEST_STUDY_STABLE_MS,
    studyConcurrency: e.INGEST_STUDY_CONCURRENCY,
    pseudonymSecret: e.PSEUDONYM_SECRET,
    analysisMaxSize: e.INGEST_ANALYSIS_MAX_SIZE,
    analysisInputSize: e.INGEST_ANALYSIS_INPUT_SIZE,
    storage: { timeoutMs: e.INGEST_S3_TIMEOUT_MS, attempts: e.INGEST_S3_ATTEMPTS, backoffMs: e.INGEST_S3_BACKOFF_MS },
    readyTimeoutMs: e.INGEST_READY_TIMEOUT_MS,
    reconcile: { intervalMs: e.INGEST_RECONCILE_INTERVAL_MS, graceMs: e.INGEST_RECONCILE_GRACE_MS },
    priors: { max: e.INGEST_PRIORS_MAX, maxAgeDays: e.INGEST_PRIORS_MAX_AGE_DAYS, waitMs: e.INGEST_PRIORS_WAIT_MS, pacs: e.INGEST_PRIORS_PACS },
  };
}
