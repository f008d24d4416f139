import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '@cxr/devstack';
import { createMetricsRegistry } from '@cxr/platform';
import {
  ALERT_RULES_PATH, baseMetricName, expressionsInDashboard, expressionsInRules, referencedMetricNames, seriesNamesInPromQL,
} from './metric-names.test-support.ts';

describe('the PromQL metric-name scanner', () => {
  test.each([
    ['a bare selector', 'cxr_worker_jobs_total', ['cxr_worker_jobs_total']],
    ['label matchers with braces and commas in values', 'cxr_queue_jobs{queue="analysis",state=~"wait|x{1,2}"}', ['cxr_queue_jobs']],
    ['functions, ranges and grouping', 'sum by (outcome) (rate(cxr_worker_jobs_total{outcome="failed"}[15m]))', ['cxr_worker_jobs_total']],
    ['histogram_quantile over buckets', 'histogram_quantile(0.95, sum by (le, stage) (rate(cxr_worker_stage_seconds_bucket[5m])))', ['cxr_worker_stage_seconds_bucket']],
    ['binary operators, keywords and numbers', 'a_total / clamp_min(b_total, 1e-9) > 0.05 and on(service) c unless d offset 5m', ['a_total', 'b_total', 'c', 'd']],
    ['subqueries', 'delta(max(cxr_queue_jobs{state="waiting"})[15m:1m]) > 0', ['cxr_queue_jobs']],
    ['group_left with labels', 'x * on (pod) group_left(node) y', ['x', 'y']],
    ['time() and absent()', 'time() - absent(cxr_process_start_time_seconds{service="ingest"})', ['cxr_process_start_time_seconds']],
    ["Grafana's label_values", 'label_values(cxr_process_start_time_seconds, service)', ['cxr_process_start_time_seconds']],
    ['label names inside a string', 'count(up{job="cxr_fake_metric"})', ['up']],
  ])('finds the metrics in %s', (_case, expr, expected) => {
    expect(seriesNamesInPromQL(expr).sort()).toEqual([...expected].sort());
  });

  test.each([
    ['cxr_worker_stage_seconds_bucket', 'cxr_worker_stage_seconds'],
    ['cxr_report_draft_composition_seconds_sum', 'cxr_report_draft_composition_seconds'],
    ['cxr_worker_stage_seconds_count', 'cxr_worker_stage_seconds'],
    ['cxr_worker_jobs_total', 'cxr_worker_jobs_total'],
  ])('reads %s as the metric %s', (series, metric) => {
    expect(baseMetricName(series)).toBe(metric);
  });

  test('collects expressions from rule groups and from dashboard panels, nested rows and query variables', () => {
    expect(expressionsInRules('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n      - record: r\n        expr: sum(x)\n')).toEqual(['up == 0', 'sum(x)']);
    const dashboard = {
      panels: [
        { targets: [{ expr: 'a' }] },
        { type: 'row', panels: [{ targets: [{ expr: 'b' }, {}] }] },
      ],
      templating: { list: [{ type: 'datasource', query: 'prometheus' }, { type: 'query', query: { query: 'label_values(c, service)' } }] },
    };
    expect(expressionsInDashboard(dashboard)).toEqual(['a', 'b', 'label_values(c, service)']);
  });
});

/** Metric names the services declare in source (`name: 'cxr_…'`), plus prom-client's defaults. */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/name:\s*'(cxr_\w+)'/g)) names.add(m[1]!);
      }
    }
  };
  for (const service of ['ingest', 'inference-worker', 'report']) walk(join(REPO_ROOT, 'services', service, 'src'));
  const defaults = createMetricsRegistry('metric-names-test').getMetricsAsArray();
  for (const metric of defaults) names.add(metric.name);
  return names;
}

describe('the alert rules and the Grafana dashboard', () => {
  const referenced = referencedMetricNames(REPO_ROOT);

  test('reference metrics from every service', () => {
    expect(referenced).toEqual(expect.arrayContaining([
      'cxr_ingest_instances_total', 'cxr_queue_jobs', 'cxr_worker_jobs_total', 'cxr_worker_stage_seconds',
      'cxr_report_draft_composition_seconds', 'cxr_report_e2e_latency_seconds', 'cxr_process_start_time_seconds',
      'cxr_report_pacs_exports_pending', 'cxr_report_pacs_export_oldest_held_seconds',
    ]));
  });

  test('reference only metrics that a service declares or prom-client exports by default', () => {
    const exported = exportedMetricNames();
    expect(referenced.filter((name) => !exported.has(name))).toEqual([]);
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  test.skipIf(!promtool)('pass promtool check rules (skipped where promtool, Debian package prometheus, is absent)', () => {
    const run = spawnSync('promtool', ['check', 'rules', join(REPO_ROOT, ALERT_RULES_PATH)], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });
});
