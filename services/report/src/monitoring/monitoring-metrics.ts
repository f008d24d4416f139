import { PROBABILITY_BINS, type ModelPerformanceResponse } from '@cxr/contracts';
import { prom } from '@cxr/platform';
import type { AnalysisOutputs } from './performance-fields.ts';
import type { ModelRole } from './performance-store.ts';

/**
 * The model-monitoring metrics (cxr_model_*), on the report service's registry. Counters and the
 * probability histogram count each record once across replicas (only the replica whose record
 * the store applied counts it), so `sum` over replicas and `increase` over a window are the
 * site's figures. The gauges are the in-app report over REPORT_DRIFT_WINDOW, read from Redis at
 * scrape time (every replica serves the same values: take `max`).
 */
export interface ModelMonitoringMetrics {
  images: prom.Counter<'model' | 'role' | 'outcome'>;
  findingReads: prom.Counter<'model' | 'role' | 'finding'>;
  findingPositives: prom.Counter<'model' | 'role' | 'finding'>;
  probability: prom.Histogram<'model' | 'role' | 'finding'>;
  studiesReceived: prom.Counter<'model' | 'eligibility'>;
  reviews: prom.Counter<'model' | 'finding' | 'outcome'>;
  observeAnalysis(role: ModelRole, model: string, outputs: AnalysisOutputs): void;
}

export function createModelMonitoringMetrics(registry: prom.Registry, driftReport: () => Promise<ModelPerformanceResponse>): ModelMonitoringMetrics {
  const images = new prom.Counter({
    name: 'cxr_model_images_total',
    help: 'Images a model version was given, by role (active, shadow) and outcome (in-scope, out-of-scope)',
    labelNames: ['model', 'role', 'outcome'] as const,
    registers: [registry],
  });
  const findingReads = new prom.Counter({
    name: 'cxr_model_finding_reads_total',
    help: 'In-scope images a model version read, per finding',
    labelNames: ['model', 'role', 'finding'] as const,
    registers: [registry],
  });
  const findingPositives = new prom.Counter({
    name: 'cxr_model_finding_positives_total',
    help: 'In-scope images a model version called positive, per finding',
    labelNames: ['model', 'role', 'finding'] as const,
    registers: [registry],
  });
  const probability = new prom.Histogram({
    name: 'cxr_model_finding_probability',
    help: 'Probabilities a model version gave, per finding (in-scope images)',
    labelNames: ['model', 'role', 'finding'] as const,
    buckets: Array.from({ length: PROBABILITY_BINS - 1 }, (_, i) => Number(((i + 1) / PROBABILITY_BINS).toFixed(2))),
    registers: [registry],
  });
  const studiesReceived = new prom.Counter({
    name: 'cxr_model_studies_received_total',
    help: 'Studies received while a model version\'s scope was published, by eligibility (eligible, not-eligible)',
    labelNames: ['model', 'eligibility'] as const,
    registers: [registry],
  });
  const reviews = new prom.Counter({
    name: 'cxr_model_reviews_total',
    help: 'What signing radiologists did with a model version\'s calls, per finding: accepted or rejected AI-positive findings; added (stated in the signed text, AI negative)',
    labelNames: ['model', 'finding', 'outcome'] as const,
    registers: [registry],
  });

  // The in-app drift report, once per scrape for all the gauges below.
  let pending: Promise<ModelPerformanceResponse | null> | null = null;
  const current = (): Promise<ModelPerformanceResponse | null> => {
    pending ??= driftReport()
      .catch(() => null) // Redis down: keep the last values rather than failing the scrape
      .finally(() => setTimeout(() => (pending = null), 1000).unref());
    return pending;
  };
  new prom.Gauge({
    name: 'cxr_model_expected_positive_rate',
    help: 'A model version\'s validation positive rate per finding (bound=expected) and the band the live rate is checked against (lower, upper)',
    labelNames: ['model', 'finding', 'bound'] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      if (!report) return;
      this.reset();
      for (const m of report.models) {
        for (const f of m.findings) {
          if (!f.expected) continue;
          this.set({ model: m.model, finding: f.code, bound: 'expected' }, f.expected.positiveRate);
          this.set({ model: m.model, finding: f.code, bound: 'lower' }, f.expected.lower);
          this.set({ model: m.model, finding: f.code, bound: 'upper' }, f.expected.upper);
        }
      }
    },
  });
  new prom.Gauge({
    name: 'cxr_model_drift',
    help: 'In-app drift status over REPORT_DRIFT_WINDOW per model version, finding and check (positive-rate, score-distribution, agreement): 1 drift, 0 in band; absent without enough data or a reference',
    labelNames: ['model', 'role', 'finding', 'check'] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      if (!report) return;
      this.reset();
      for (const m of report.models) {
        for (const f of m.findings) {
          for (const [check, status] of [['positive-rate', f.drift.positiveRate], ['score-distribution', f.drift.scoreDistribution], ['agreement', f.drift.agreement]] as const) {
            if (status === 'ok' || status === 'drift') this.set({ model: m.model, role: m.role, finding: f.code, check }, status === 'drift' ? 1 : 0);
          }
        }
      }
    },
  });
  new prom.Gauge({
    name: 'cxr_model_agreement',
    help: 'Agreement of signing radiologists with a model version over REPORT_DRIFT_WINDOW per finding: accepted / (accepted + rejected + added)',
    labelNames: ['model', 'finding'] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      if (!report) return;
      this.reset();
      for (const m of report.models) for (const f of m.findings) if (m.role === 'active' && f.review.agreement !== null) this.set({ model: m.model, finding: f.code }, f.review.agreement);
    },
  });

  return {
    images,
    findingReads,
    findingPositives,
    probability,
    studiesReceived,
    reviews,
    observeAnalysis(role, model, outputs) {
      images.inc({ model, role, outcome: 'in-scope' }, outputs.images - outputs.outOfScopeImages);
      if (outputs.outOfScopeImages > 0) images.inc({ model, role, outcome: 'out-of-scope' }, outputs.outOfScopeImages);
      for (const f of outputs.findings) {
        findingReads.inc({ model, role, finding: f.code });
        if (f.positive) findingPositives.inc({ model, role, finding: f.code });
        probability.observe({ model, role, finding: f.code }, f.probability);
      }
    },
  };
}
