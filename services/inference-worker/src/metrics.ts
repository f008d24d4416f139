import type { Queue } from 'bullmq';
import { QUEUE_NAMES } from '@cxr/contracts';
import { prom } from '@cxr/platform';

/**
 * The worker's Prometheus metrics, defined here and registered on the one registry served at
 * /metrics (`createMetricsRegistry('inference-worker')`). Each part of the worker asks for its own
 * group with the registry it was given, so tests can give each part a registry of its own.
 */

/** What the analysis worker measures. */
export interface AnalysisMetrics {
  /** Analysis jobs by outcome (completed, retried, failed, invalid). */
  jobs: prom.Counter<'outcome'>;
  /** Per-stage latency of analysis jobs (the result's stage timings, and `total`). */
  stageSeconds: prom.Histogram<'stage'>;
  /** Images read for analysis, by stored form. */
  inputsRead: prom.Counter<'kind'>;
  /** Images scored against the model scope, by outcome (in-scope or the check that refused it) and model. */
  imagesByScope: prom.Counter<'outcome' | 'model'>;
  /** Images per model call (dynamic batching). */
  batchSize: prom.Histogram<never>;
  /** Shadow-mode runs by outcome (completed, failed, same-as-active). */
  shadowJobs: prom.Counter<'outcome'>;
}

/** The analysis queue's counts, for `cxr_queue_jobs` (read at scrape time). */
export type AnalysisBacklogSource = Pick<Queue, 'getJobCounts'>;

export function createAnalysisMetrics(registry: prom.Registry, analysisQueue: AnalysisBacklogSource): AnalysisMetrics {
  const jobs = new prom.Counter({ name: 'cxr_worker_jobs_total', help: 'Analysis jobs by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  const stageSeconds = new prom.Histogram({
    name: 'cxr_worker_stage_seconds', help: 'Per-stage latency of analysis jobs', labelNames: ['stage'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  // What is really waiting for a worker: BullMQ keeps prioritised jobs in a sorted set, not the
  // wait list, so a scaler reading only `wait` would see zero. KEDA scales on this gauge.
  new prom.Gauge({
    name: 'cxr_queue_jobs',
    help: 'Jobs in the analysis queue by state (waiting includes prioritised jobs)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const counts = await analysisQueue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed').catch(() => undefined);
      if (!counts) return;
      this.set({ queue: QUEUE_NAMES.analysis, state: 'waiting' }, (counts.wait ?? 0) + (counts.prioritized ?? 0));
      this.set({ queue: QUEUE_NAMES.analysis, state: 'delayed' }, counts.delayed ?? 0);
      this.set({ queue: QUEUE_NAMES.analysis, state: 'active' }, counts.active ?? 0);
      this.set({ queue: QUEUE_NAMES.analysis, state: 'failed' }, counts.failed ?? 0);
    },
  });
  const inputsRead = new prom.Counter({
    name: 'cxr_worker_inputs_total', help: 'Images read for analysis, by stored form (presentation-png = fallback: old jobs, a removed input, or one with fewer pixels than the model takes)',
    labelNames: ['kind'] as const, registers: [registry],
  });
  const imagesByScope = new prom.Counter({
    name: 'cxr_worker_images_scope_total',
    help: 'Images scored against the model scope, by outcome (in-scope, or the check that flagged it: out-of-distribution, blank, saturated, too-small, polarity) and model version',
    labelNames: ['outcome', 'model'] as const, registers: [registry],
  });
  const batchSize = new prom.Histogram({
    name: 'cxr_worker_batch_size', help: 'Images per model call (dynamic batching)',
    buckets: [1, 2, 4, 8, 16, 32], registers: [registry],
  });
  const shadowJobs = new prom.Counter({
    name: 'cxr_worker_shadow_jobs_total', help: 'Shadow-mode analyses (WORKER_SHADOW_MODEL) by outcome: completed, failed (the active result stands), same-as-active (skipped)',
    labelNames: ['outcome'] as const, registers: [registry],
  });
  return { jobs, stageSeconds, inputsRead, imagesByScope, batchSize, shadowJobs };
}

/** What the model registry reports: the model in service and its switches. */
export interface ModelMetrics {
  info: prom.Gauge<'id' | 'version' | 'sha256' | 'provider'>;
  provider: prom.Gauge<'provider'>;
  switches: prom.Counter<'outcome'>;
}

export function createModelMetrics(registry: prom.Registry): ModelMetrics {
  return {
    info: new prom.Gauge({
      name: 'cxr_worker_model_info', help: 'The model package in service (1): id, version, sha256 of its manifest, execution provider',
      labelNames: ['id', 'version', 'sha256', 'provider'] as const, registers: [registry],
    }),
    provider: new prom.Gauge({ name: 'cxr_worker_execution_provider', help: 'Execution provider in use (1 = active)', labelNames: ['provider'] as const, registers: [registry] }),
    switches: new prom.Counter({
      name: 'cxr_worker_model_switches_total', help: 'Attempts to put a new model version into service, by outcome (switched, refused)',
      labelNames: ['outcome'] as const, registers: [registry],
    }),
  };
}
