// Writes a local evaluation to a folder: evaluation.json (the result, record metadata first),
// evaluation.md (tables for a reader) and roc.svg (one ROC panel per finding, and one for the two
// groups of the largest subgroup gap). Non-finite numbers are written as null in the JSON.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Interval } from '../metrics.ts';
import type { LocalEvaluationResult } from './local-evaluation.ts';
import { SUBGROUP_ATTRIBUTES } from './subgroups.ts';

const f3 = (v: number | null | undefined): string => (v !== null && v !== undefined && Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const ci = (i: Interval): string => `${f3(i.value)} [${f3(i.lo)}, ${f3(i.hi)}]`;
const escapeMd = (s: string): string => s.replace(/[|\\`*_<>]/g, (c) => `\\${c}`);
const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function localMarkdown(r: LocalEvaluationResult): string {
  const s = r.summary;
  const ood = s.outOfDistribution;
  const lines = [
    `# Local evaluation of ${s.model.id} ${s.model.version}`,
    '',
    `Package sha256 \`${s.model.sha256}\`; provider ${s.model.executionProvider}. Labels from ${s.labels.source}.`,
    `Studies: ${s.studies.inDataset} in the dataset, ${s.studies.labelled} labelled, ${s.studies.evaluated} evaluated, ${s.studies.notRead} labelled but not read, ` +
      `${s.studies.unlabelled} without labels; ${s.studies.labelsWithoutImages} labelled studies not in the dataset.`,
    `Images: ${s.instances.analysed} analysed, ${s.instances.notEligible} not eligible by their attributes, ${s.instances.notDecodable} not decodable, ${s.instances.overImageLimit} over the per-study limit; ${s.skippedFiles.count} files skipped.`,
    `Out of distribution: ${ood.flagged} of ${ood.images} analysed images refused by the scope checks (rate ${f3(ood.flagRate)}${Object.keys(ood.byCheck).length ? `; ${Object.entries(ood.byCheck).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}); ${ood.studiesNotRead} studies with no image read.`,
    '',
    `- macro AUC ${f3(s.macroAuc)} (${s.bootstrapRounds} bootstrap rounds)`,
  ];
  const gap = s.largestSubgroupGap;
  lines.push(
    gap
      ? `- largest subgroup gap: ${gap.attribute} for ${gap.finding}, ${f3(gap.gap)}: ${escapeMd(gap.higher.group)} ${ci(gap.higher.auc)} (n ${gap.higher.count}, ${gap.higher.positives} positive) against ${escapeMd(gap.lower.group)} ${ci(gap.lower.auc)} (n ${gap.lower.count}, ${gap.lower.positives} positive); intervals ${gap.intervalsSeparate ? 'apart' : 'overlap'}`
      : `- largest subgroup gap: none (no two groups with ${s.minGroupClassCount} positive and negative studies for a finding)`,
    '',
    '| finding | n (pos) | threshold | AUC [95% CI] | sens | spec | prec | F1 | ECE |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const [code, m] of Object.entries(s.perFinding)) lines.push(`| ${code} | ${m.count} (${m.positives}) | ${f3(m.threshold)} | ${ci(m.auc)} | ${f3(m.sensitivity)} | ${f3(m.specificity)} | ${f3(m.precision)} | ${f3(m.f1)} | ${f3(m.calibrationError)} |`);
  for (const attribute of SUBGROUP_ATTRIBUTES) {
    lines.push('', `## By ${attribute}`, '', '| group | studies | evaluated | OOD flag rate | macro AUC | finding: n (pos) AUC [95% CI] |', '|---|---|---|---|---|---|');
    for (const [group, g] of Object.entries(s.subgroups[attribute])) {
      // Findings with both classes in the group only (the others have no AUC).
      const cells = Object.entries(g.perFinding).filter(([, m]) => Number.isFinite(m.auc.value)).map(([code, m]) => `${code}: ${m.count} (${m.positives}) ${ci(m.auc)}`).join('<br>');
      lines.push(`| ${escapeMd(group)} | ${g.studies} | ${g.evaluated} | ${f3(g.outOfDistribution.flagRate)} | ${f3(g.macroAuc)} | ${cells} |`);
    }
  }
  if (Object.keys(s.instances.notEligibleReasons).length) {
    lines.push('', '## Not eligible', '');
    for (const [reason, n] of Object.entries(s.instances.notEligibleReasons)) lines.push(`- ${n}: ${escapeMd(reason)}`);
  }
  if (Object.keys(s.skippedFiles.reasons).length) {
    lines.push('', '## Files skipped', '');
    for (const [reason, n] of Object.entries(s.skippedFiles.reasons)) lines.push(`- ${n}: ${escapeMd(reason)}`);
  }
  lines.push('', '## Definitions', '');
  for (const [k, v] of Object.entries(r.definitions)) lines.push(`- **${k}**: ${v}`);
  return `${lines.join('\n')}\n`;
}

/** ROC panels (240 px each): one per finding with both classes, then the largest gap's two groups (red the lower). */
export function localRocSvg(r: LocalEvaluationResult): string {
  const P = 240;
  const M = 24;
  // Findings with both classes only: without positives or negatives there is no curve.
  const drawn = Object.entries(r.roc).filter(([code]) => Number.isFinite(r.summary.perFinding[code]?.auc.value ?? Number.NaN));
  const panels: { title: string; curves: { points: { fpr: number; tpr: number }[]; colour: string }[] }[] = drawn.map(([code, points]) => ({
    title: `${code} (AUC ${f3(r.summary.perFinding[code]?.auc.value)})`,
    curves: [{ points, colour: '#000' }],
  }));
  const gap = r.summary.largestSubgroupGap;
  if (gap) {
    panels.push({
      title: `${gap.finding} by ${gap.attribute}`,
      curves: [
        { points: r.gapRoc[gap.higher.group] ?? [], colour: '#1f5fbf' },
        { points: r.gapRoc[gap.lower.group] ?? [], colour: '#d22' },
      ],
    });
  }
  const W = Math.max(1, panels.length) * P;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${P + 20}" viewBox="0 0 ${W} ${P + 20}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${P + 20}" fill="#fff"/>`];
  panels.forEach((panel, k) => {
    const ox = k * P;
    const sx = (f: number): number => ox + M + f * (P - 2 * M);
    const sy = (t: number): number => P - M - t * (P - 2 * M);
    parts.push(`<rect x="${sx(0)}" y="${sy(1)}" width="${P - 2 * M}" height="${P - 2 * M}" fill="none" stroke="#888"/>`);
    parts.push(`<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#ccc"/>`);
    for (const c of panel.curves) {
      if (c.points.length < 2) continue;
      const d = c.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.fpr).toFixed(1)},${sy(p.tpr).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${c.colour}" stroke-width="1.5"/>`);
    }
    parts.push(`<text x="${ox + M}" y="14">${escapeXml(panel.title)}</text>`);
    parts.push(`<text x="${ox + M}" y="${P - 6}">false positive rate</text>`);
  });
  if (gap) {
    const ox = (panels.length - 1) * P + M;
    parts.push(`<text x="${ox}" y="${P + 14}" fill="#1f5fbf">${escapeXml(gap.higher.group)}</text>`, `<text x="${ox + 100}" y="${P + 14}" fill="#d22">${escapeXml(gap.lower.group)}</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** `meta` (a benchmark record's benchmark, recordedAt, machine, settings) goes first in the JSON. */
export async function writeLocalEvaluation(r: LocalEvaluationResult, outDir: string, meta: object = {}): Promise<{ json: string; markdown: string; svg: string }> {
  await mkdir(outDir, { recursive: true });
  const paths = { json: join(outDir, 'evaluation.json'), markdown: join(outDir, 'evaluation.md'), svg: join(outDir, 'roc.svg') };
  await writeFile(paths.json, `${JSON.stringify({ ...meta, ...r }, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeFile(paths.markdown, localMarkdown(r));
  await writeFile(paths.svg, localRocSvg(r));
  return paths;
}
