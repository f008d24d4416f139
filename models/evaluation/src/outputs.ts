// Writes an evaluation as JSON, a Markdown summary and a PNG of ROC curves (drawn here, encoded by sharp).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import type { EvaluationResult } from './evaluate.ts';

const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

export function markdownSummary(r: EvaluationResult): string {
  const s = r.summary;
  const lines = [
    `# Evaluation of ${s.model.id} ${s.model.version}`,
    '',
    `${s.count} fresh phantoms from seed ${s.seed}; provider ${s.model.executionProvider}; ${s.msPerImage.toFixed(1)} ms/image (batched analyse).`,
    `Package sha256 \`${s.model.sha256}\`. Synthetic data only: not evidence of clinical performance.`,
    '',
    `- macro AUC ${f3(s.macroAuc)} (subtle tier ${f3(s.macroAucSubtle)})`,
    `- report finding-level F1 ${f3(s.reportFindingF1)} (model text); ${f3(s.textChecks.findingF1.final)} (final draft text; the classifier's own calls: ${f3(s.textChecks.findingF1.classifier)})`,
    `- text checks, final draft (model text): contradicting ${s.textChecks.contradicting} (${s.textChecks.raw.contradicting}), repeated ${s.textChecks.repeated} (${s.textChecks.raw.repeated}), ` +
      `malformed ${s.textChecks.malformed} (${s.textChecks.raw.malformed}), unmeasured sizes ${s.textChecks.unmeasuredSizes} (${s.textChecks.raw.unmeasuredSizes}); ` +
      `${s.textChecks.editedImages} of ${s.textChecks.images} images edited, ${s.textChecks.raw.incompleteImages} decoded without <eos>`,
    `- nodule/mass sizes stated: model ${s.textChecks.lesionSizes.raw.count} (mean abs error ${f3(s.textChecks.lesionSizes.raw.meanAbsErrorMm)} mm), ` +
      `final draft ${s.textChecks.lesionSizes.final.count} measured (mean abs error ${f3(s.textChecks.lesionSizes.final.meanAbsErrorMm)} mm)`,
    `- scope checks: ${s.ood.inDistribution.flagged} of ${s.ood.inDistribution.images} fresh phantoms refused (false-flag rate ${f3(s.ood.falseFlagRate)}, threshold ${s.ood.threshold ?? 'none'}); ` +
      [['real radiographs', s.ood.realRadiographs], ['non-chest images', s.ood.nonChest]]
        .map(([name, set]) => (set && typeof set === 'object' ? `${name as string} ${set.flagged}/${set.images} refused (AUROC ${set.auroc === null ? 'n/a' : f3(set.auroc)})` : `${name as string} not measured`))
        .join(', '),
    `- robustness: largest macro AUC drop ${s.robustnessMaxAucDrop === null ? 'not measured' : f3(s.robustnessMaxAucDrop)}`,
    '',
    '| finding | tier | n (pos) | AUC [95% CI] | sens | spec | prec | F1 | ECE | pointing (cell / strict) | IoU |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [code, m] of Object.entries(r.perFinding))
    for (const tier of ['all', 'obvious', 'subtle'] as const) {
      const t = m[tier];
      lines.push(
        `| ${code} | ${tier} | ${t.count} (${t.positives}) | ${f3(t.auc.value)} [${f3(t.auc.lo)}, ${f3(t.auc.hi)}] | ${f3(t.sensitivity)} | ${f3(t.specificity)} | ${f3(t.precision)} | ${f3(t.f1)} | ${f3(t.calibrationError)} | ${f3(t.pointingGame)} / ${f3(t.pointingGameStrict)} | ${f3(t.meanIoU)} |`,
      );
    }
  lines.push('', '| report | precision | recall | F1 |', '|---|---|---|---|');
  for (const [code, m] of Object.entries(r.report.perFinding)) lines.push(`| ${code} | ${f3(m.precision)} | ${f3(m.recall)} | ${f3(m.f1)} |`);
  const loc = r.report.location;
  lines.push(
    '',
    `Location in the text (${loc.mentions} nodule/mass sentences about a true finding): side and zone as the truth ${f3(loc.sideZoneMatchesTruth)}, ` +
      `zone as the truth ${f3(loc.zoneMatchesTruth)}; zone as the heatmap peak's ${f3(loc.zoneMatchesHeatmap)}, side as the heatmap peak's ${f3(loc.sideMatchesHeatmap)}.`,
  );
  if (r.robustness) {
    lines.push('', '| perturbation | macro AUC | drop |', '|---|---|---|');
    for (const p of r.robustness) lines.push(`| ${p.description} | ${f3(p.macroAuc)} | ${f3(p.drop)} |`);
  }
  lines.push('', '## Example reports', '');
  for (const e of r.report.examples) lines.push(`- seed ${e.seed}`, `  - truth: ${e.truth}`, `  - model: ${e.generated}`, `  - draft: ${e.draft}`);
  lines.push('', '## Definitions', '');
  for (const [k, v] of Object.entries(r.definitions)) lines.push(`- **${k}**: ${v}`);
  return `${lines.join('\n')}\n`;
}

/** One 240 px panel per finding: ROC of all cases (black) and of the subtle tier (red). */
export async function rocPng(r: EvaluationResult): Promise<Buffer> {
  const codes = Object.keys(r.roc);
  const P = 240;
  const M = 12;
  const W = P * codes.length;
  const rgb = Buffer.alloc(W * P * 3, 255);
  const put = (x: number, y: number, c: [number, number, number]): void => {
    if (x < 0 || y < 0 || x >= W || y >= P) return;
    const o = (Math.round(y) * W + Math.round(x)) * 3;
    rgb[o] = c[0];
    rgb[o + 1] = c[1];
    rgb[o + 2] = c[2];
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number]): void => {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let i = 0; i <= n; i++) put(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  };
  codes.forEach((code, k) => {
    const ox = k * P;
    const sx = (f: number): number => ox + M + f * (P - 2 * M);
    const sy = (t: number): number => P - M - t * (P - 2 * M);
    line(sx(0), sy(0), sx(1), sy(0), [120, 120, 120]);
    line(sx(0), sy(0), sx(0), sy(1), [120, 120, 120]);
    line(sx(1), sy(0), sx(1), sy(1), [200, 200, 200]);
    line(sx(0), sy(1), sx(1), sy(1), [200, 200, 200]);
    line(sx(0), sy(0), sx(1), sy(1), [210, 210, 210]);
    for (const [curve, colour] of [
      [r.roc[code]!.subtle, [220, 40, 40]],
      [r.roc[code]!.all, [0, 0, 0]],
    ] as [number[][], [number, number, number]][])
      for (let i = 1; i < curve.length; i++) line(sx(curve[i - 1]![0]!), sy(curve[i - 1]![1]!), sx(curve[i]![0]!), sy(curve[i]![1]!), colour);
  });
  const svgLabels = codes.map((c, k) => `<text x="${k * P + 40}" y="${P - 20}" font-family="sans-serif" font-size="13">${c}</text>`).join('');
  const labels = Buffer.from(`<svg width="${W}" height="${P}" xmlns="http://www.w3.org/2000/svg">${svgLabels}</svg>`);
  const base = await sharp(rgb, { raw: { width: W, height: P, channels: 3 } }).png().toBuffer();
  return sharp(base).composite([{ input: labels }]).png().toBuffer();
}

/** `meta` (a benchmark record's benchmark, recordedAt, machine, settings) goes first in the JSON. */
export async function writeEvaluation(r: EvaluationResult, jsonPath: string, meta: object = {}): Promise<{ json: string; markdown: string; png: string }> {
  const stem = jsonPath.replace(/\.json$/, '');
  const paths = { json: jsonPath, markdown: `${stem}.md`, png: `${stem}-roc.png` };
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(paths.json, `${JSON.stringify({ ...meta, ...r }, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeFile(paths.markdown, markdownSummary(r));
  await writeFile(paths.png, await rocPng(r));
  return paths;
}
