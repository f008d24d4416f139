import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Which metric names the alert rules and the Grafana dashboard reference, so tests can check each
 * one against what the services really export (statically here, against a live /metrics in e2e).
 *
 * A small PromQL scanner rather than a full parser: it drops string literals, label matchers,
 * range/subquery brackets and grouping clauses, then every remaining identifier that is not a
 * function call, keyword or number is a metric name. That is exact for the expressions we write;
 * a construct it does not know fails loudly in the unit test rather than passing silently.
 */

export const ALERT_RULES_PATH = 'infra/observability/prometheus/alerts.yaml';
export const DASHBOARD_PATH = 'infra/observability/grafana/cxr-assist-overview.json';

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'inf', 'nan', 'atan2',
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** Histogram series (`x_bucket`, `x_sum`, `x_count`) belong to the metric `x` a service declares. */
export function baseMetricName(series: string): string {
  return series.replace(HISTOGRAM_SUFFIX, '');
}

/** Metric names (series names as written, suffixes kept) in one PromQL expression. */
export function seriesNamesInPromQL(expr: string): string[] {
  let rest = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(GROUPING, ' '); // by (...), on (...), group_left (...)
  // Grafana's label_values(metric, label): the label is not a metric.
  rest = rest.replace(/\blabel_values\s*\(\s*([A-Za-z_:][\w:]*)\s*,\s*[A-Za-z_]\w*\s*\)/g, ' $1 ');
  const names = new Set<string>();
  for (const match of rest.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    if (/^\d/.test(name!)) continue;
    names.add(name!);
  }
  return [...names];
}

/** Every `expr` in a Prometheus rule file (`groups[].rules[].expr`). */
export function expressionsInRules(yamlText: string): string[] {
  const doc = parse(yamlText) as { groups?: { rules?: { expr?: string }[] }[] };
  return (doc.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.expr).filter((e): e is string => typeof e === 'string'));
}

interface DashboardPanel {
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

/** Every query in a Grafana dashboard: panel targets (rows' nested panels too) and query variables. */
export function expressionsInDashboard(dashboard: unknown): string[] {
  const d = dashboard as { panels?: DashboardPanel[]; templating?: { list?: { type?: string; query?: unknown }[] } };
  const exprs: string[] = [];
  const walk = (panels: DashboardPanel[] = []): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (q) exprs.push(q);
  }
  return exprs;
}

/**
 * The metric names (histogram suffixes stripped) that the alert rules and the dashboard reference,
 * sorted. This is what the services must export.
 */
export function referencedMetricNames(repoRoot: string): string[] {
  const exprs = [
    ...expressionsInRules(readFileSync(join(repoRoot, ALERT_RULES_PATH), 'utf8')),
    ...expressionsInDashboard(JSON.parse(readFileSync(join(repoRoot, DASHBOARD_PATH), 'utf8'))),
  ];
  return [...new Set(exprs.flatMap(seriesNamesInPromQL).map(baseMetricName))].sort();
}
