import { describe, expect, test } from 'vitest';
import { createMetricsRegistry } from '@cxr/platform';
import type { ModelValidation } from '@cxr/contracts';
import { DEFAULT_DRIFT_LIMITS, modelVersionPerformance } from './drift.ts';
import { MONITORING_NOTICE } from './model-monitor.ts';
import { createModelMonitoringMetrics } from './monitoring-metrics.ts';
import { FIELD } from './performance-fields.ts';

const validation: ModelValidation = {
  dataset: 'test', count: 100, computedAt: '2026-01-01T00:00:00.000Z',
  findings: { nodule: { positiveRate: 0.2, meanProbability: 0.3, histogram: Array.from({ length: 10 }, () => 0.1) } },
};

/** The value of the one sample of `name` carrying all of `labels` (in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
  if (lines.length > 1) throw new Error(`${lines.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return lines[0] === undefined ? undefined : Number(lines[0].split(' ').pop());
}

describe('the model-monitoring metrics', () => {
  test('count the calls of an analysis and serve the drift report as gauges', async () => {
    const registry = createMetricsRegistry('monitoring-test');
    const fields = new Map([[FIELD.read('nodule'), 100], [FIELD.positive('nodule'), 60], ...Array.from({ length: 10 }, (_, i) => [FIELD.bin('nodule', i), 10] as [string, number])]);
    const metrics = createModelMonitoringMetrics(registry, async () => ({
      window: { since: '2026-01-01T00:00:00.000Z', until: '2026-01-08T00:00:00.000Z' },
      limits: { ...DEFAULT_DRIFT_LIMITS },
      models: [modelVersionPerformance('active', 'm@1.0.0', fields, new Map(), validation, DEFAULT_DRIFT_LIMITS)],
      notice: MONITORING_NOTICE,
    }));
    metrics.observeAnalysis('active', 'm@1.0.0', { images: 2, outOfScopeImages: 1, findings: [{ instanceKey: 'a', code: 'nodule', probability: 0.9, positive: true }] });

    const text = await registry.metrics();
    expect(sample(text, 'cxr_model_images_total', { model: 'm@1.0.0', role: 'active', outcome: 'in-scope' })).toBe(1);
    expect(sample(text, 'cxr_model_images_total', { model: 'm@1.0.0', role: 'active', outcome: 'out-of-scope' })).toBe(1);
    expect(sample(text, 'cxr_model_finding_positives_total', { model: 'm@1.0.0', finding: 'nodule' })).toBe(1);
    expect(sample(text, 'cxr_model_finding_probability_bucket', { le: '0.8', finding: 'nodule' })).toBe(0);
    expect(sample(text, 'cxr_model_finding_probability_bucket', { le: '0.9', finding: 'nodule' })).toBe(1);
    expect(sample(text, 'cxr_model_expected_positive_rate', { model: 'm@1.0.0', finding: 'nodule', bound: 'upper' })).toBeCloseTo(0.3, 9);
    // 60% positives against 20% ± 10%: the positive-rate check drifts; the flat histogram matches the validation one.
    expect(sample(text, 'cxr_model_drift', { model: 'm@1.0.0', finding: 'nodule', check: 'positive-rate' })).toBe(1);
    expect(sample(text, 'cxr_model_drift', { model: 'm@1.0.0', finding: 'nodule', check: 'score-distribution' })).toBe(0);
  });
});
