// Runs a model package over a fresh, labelled set of phantoms and measures classification,
// localisation, report and robustness metrics. Everything goes through @cxr/inference, the same
// code the inference worker uses.
import { heatmapGridOf, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { createRng, FINDING_CODES, generatePhantom, labelReport, toUint16, type FindingCode, type Phantom, type Tier } from '@cxr/phantom';
import { draftTextChecks } from './draft-text-checks.ts';
import { auc, bootstrap, calibrationError, confusion, rates, type Interval } from './metrics.ts';
import { InDistributionScopes, summariseOod, type OodSummary } from './ood-evaluation.ts';
import { PERTURBATIONS, type Perturbation } from './perturbations.ts';
import { readLesionLocations, sideOfX, zoneOfHeight } from './report-location.ts';

export interface EvaluateOptions {
  seed: number;
  count: number;
  /** Phantom width in pixels (default 256); aspect is drawn in [1, 1.25]. */
  size?: number;
  batch?: number;
  bootstrapRounds?: number;
  /** Images used for each robustness perturbation (default min(count, 300)); 0 skips it. */
  robustnessCount?: number;
  onProgress?: (done: number, total: number) => void;
  /** Folders of DICOM images the model was not built for, to measure the scope checks on (summary.ood). */
  outOfDistribution?: { realRadiographs?: string | undefined; nonChest?: string | undefined };
}

/** One image's outcome for one finding. */
interface Case {
  label: 0 | 1;
  tier: Tier | null;
  probability: number;
  positive: boolean;
  pointing: boolean | null;
  pointingStrict: boolean | null;
  iou: number | null;
}

export interface TierMetrics {
  count: number;
  positives: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  f1: number;
  auc: Interval;
  calibrationError: number;
  pointingGame: number;
  pointingGameStrict: number;
  meanIoU: number;
}

export interface EvaluationResult {
  summary: {
    model: { id: string; version: string; sha256: string; executionProvider: string };
    seed: number;
    count: number;
    macroAuc: number;
    macroAucSubtle: number;
    pointingGame: Record<string, number>;
    reportFindingF1: number;
    textChecks: TextChecksSummary;
    robustnessMaxAucDrop: number | null;
    msPerImage: number;
    /** Scope checks: false flags on these fresh phantoms, and how the images the model was not built for fare. */
    ood: OodSummary;
  };
  perFinding: Record<string, { all: TierMetrics; obvious: TierMetrics; subtle: TierMetrics; threshold: number }>;
  report: {
    findingF1: number;
    perFinding: Record<string, { precision: number; recall: number; f1: number }>;
    normalTextAccuracy: number;
    /** Nodule/mass sentences of the generated text about a finding the image really has. */
    location: { mentions: number; sideZoneMatchesTruth: number; zoneMatchesTruth: number; zoneMatchesHeatmap: number; sideMatchesHeatmap: number };
    examples: { seed: number; truth: string; generated: string; draft: string }[];
  };
  robustness: { perturbation: string; description: string; macroAuc: number; cleanMacroAuc: number; drop: number }[] | null;
  roc: Record<string, { all: number[][]; subtle: number[][] }>;
  definitions: Record<string, string>;
}

/** Consistency of the report text (see @cxr/drafting): the final draft text, and the model's raw text. */
export interface TextChecksSummary {
  contradicting: number;
  repeated: number;
  malformed: number;
  unmeasuredSizes: number;
  images: number;
  /** Images whose text the checks changed. */
  editedImages: number;
  /** Edits made, by rule (see textRuleSchema in @cxr/contracts). */
  editsByRule: Record<string, number>;
  raw: { contradicting: number; repeated: number; malformed: number; unmeasuredSizes: number; incompleteImages: number };
  /**
   * Report finding-level micro F1 of the model's raw text and of the final draft text, and the micro F1
   * of the classifier's own decisions: the final text states exactly those, so final equals classifier.
   */
  findingF1: { raw: number; final: number; classifier: number };
  /** Nodule/mass sizes stated, against the phantom's true diameter: raw decoder text and final draft (measured). */
  lesionSizes: { raw: SizeError; final: SizeError };
}

export interface SizeError {
  count: number;
  meanAbsErrorMm: number;
}

const LESION_SIZE = /\bA (\d+) mm (nodule|mass)\b/g;

export function phantomFor(seed: number, size: number): Phantom {
  const aspect = createRng(seed ^ 0x3141592).uniform(1, 1.25);
  return generatePhantom({ seed, size, aspect });
}

export const asPresentation = (p: Phantom): PresentationImage => ({ width: p.width, height: p.height, data: toUint16(p) });

/** Is any mask pixel inside the heatmap cell that holds the peak (cell = 1/grid of the model input)? */
function pointingHit(p: Phantom, mask: Uint8Array, peak: { x: number; y: number }, cellFracX: number, cellFracY: number): { cell: boolean; strict: boolean } {
  const px = Math.min(p.width - 1, Math.floor(peak.x * p.width));
  const py = Math.min(p.height - 1, Math.floor(peak.y * p.height));
  const strict = mask[py * p.width + px] === 1;
  const hx = Math.ceil((cellFracX * p.width) / 2);
  const hy = Math.ceil((cellFracY * p.height) / 2);
  for (let y = Math.max(0, py - hy); y <= Math.min(p.height - 1, py + hy); y++)
    for (let x = Math.max(0, px - hx); x <= Math.min(p.width - 1, px + hx); x++) if (mask[y * p.width + x]) return { cell: true, strict };
  return { cell: false, strict };
}

/** IoU of the heatmap thresholded at 0.5 and the mask resampled to the heatmap grid (cell centre). */
function heatmapIoU(p: Phantom, mask: Uint8Array, heat: { width: number; height: number; data: Float32Array }): number {
  let inter = 0;
  let union = 0;
  for (let j = 0; j < heat.height; j++)
    for (let i = 0; i < heat.width; i++) {
      const mx = Math.min(p.width - 1, Math.floor(((i + 0.5) / heat.width) * p.width));
      const my = Math.min(p.height - 1, Math.floor(((j + 0.5) / heat.height) * p.height));
      const m = mask[my * p.width + mx] === 1;
      const h = heat.data[j * heat.width + i]! >= 0.5;
      if (m && h) inter++;
      if (m || h) union++;
    }
  return union === 0 ? 0 : inter / union;
}

function tierMetrics(cases: Case[], rounds: number, seed: number): TierMetrics {
  const labels = cases.map((c) => c.label);
  const probs = cases.map((c) => c.probability);
  const r = rates(confusion(labels, cases.map((c) => c.positive)));
  const pos = cases.filter((c) => c.label === 1);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    count: cases.length,
    positives: pos.length,
    ...r,
    auc: bootstrap(cases.length, (idx) => auc(Array.from(idx, (i) => labels[i]!), Array.from(idx, (i) => probs[i]!)), rounds, seed),
    calibrationError: calibrationError(labels, probs),
    pointingGame: mean(pos.map((c) => (c.pointing ? 1 : 0))),
    pointingGameStrict: mean(pos.map((c) => (c.pointingStrict ? 1 : 0))),
    meanIoU: mean(pos.map((c) => c.iou ?? 0)),
  };
}

async function macroAucOf(pkg: ModelPackage, phantoms: Phantom[], batch: number, perturb: Perturbation | null): Promise<number> {
  const probs: number[][] = FINDING_CODES.map(() => []);
  const read: Phantom[] = [];
  for (let b = 0; b < phantoms.length; b += batch) {
    const chunk = phantoms.slice(b, b + batch);
    const images = chunk.map((p, i) => (perturb ? perturb.apply(asPresentation(p), p.seed + i) : asPresentation(p)));
    const results = await pkg.analyse(images);
    // An image the scope checks refuse gets no findings (and no draft): it counts as not read.
    results.forEach((r, i) => {
      if (r.scope.inScope) read.push(chunk[i]!);
      if (r.scope.inScope) FINDING_CODES.forEach((code, k) => probs[k]!.push(r.findings.find((f) => f.code === code)!.probability));
    });
  }
  const aucs = FINDING_CODES.map((code, k) => auc(read.map((p) => p.labels[code]), probs[k]!));
  return aucs.reduce((a, b) => a + b, 0) / aucs.length;
}

export async function evaluateModel(pkg: ModelPackage, options: EvaluateOptions): Promise<EvaluationResult> {
  const size = options.size ?? 256;
  const batch = options.batch ?? 16;
  const rounds = options.bootstrapRounds ?? 500;
  const cases: Record<FindingCode, Case[]> = Object.fromEntries(FINDING_CODES.map((c) => [c, []])) as unknown as Record<FindingCode, Case[]>;
  const grid = heatmapGridOf(pkg.manifest);
  const inputSize = pkg.manifest.input.size;
  const reportCounts = Object.fromEntries(FINDING_CODES.map((c) => [c, { tp: 0, fp: 0, fn: 0 }])) as Record<FindingCode, { tp: number; fp: number; fn: number }>;
  const draftCounts = { tp: 0, fp: 0, fn: 0 };
  const text = { contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0, editedImages: 0 };
  const editsByRule: Record<string, number> = {};
  const rawText = { contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0, incompleteImages: 0 };
  const sizeErrors = { raw: [] as number[], final: [] as number[] };
  const location = { mentions: 0, sideZone: 0, zone: 0, heatZone: 0, heatSide: 0 };
  let normalCount = 0;
  let normalRight = 0;
  const examples: EvaluationResult['report']['examples'] = [];
  let analyseMs = 0;
  const kept: Phantom[] = [];
  const robustnessCount = options.robustnessCount ?? Math.min(options.count, 300);
  const scopes = new InDistributionScopes();

  for (let b = 0; b < options.count; b += batch) {
    const phantoms: Phantom[] = [];
    for (let i = b; i < Math.min(options.count, b + batch); i++) phantoms.push(phantomFor(options.seed + i, size));
    const t0 = performance.now();
    const results = await pkg.analyse(phantoms.map(asPresentation));
    analyseMs += performance.now() - t0;
    phantoms.forEach((p, n) => {
      if (kept.length < robustnessCount) kept.push(p);
      const r = results[n]!;
      scopes.add(r.scope);
      // Refused by the scope checks (a false flag on a phantom): no findings, no text, no draft.
      if (!r.scope.inScope) return;
      // The model input is letterboxed: a heatmap cell spans `grid` cells along the longer side.
      const longer = Math.max(p.width, p.height);
      const cellX = (inputSize / grid / inputSize) * (longer / p.width);
      const cellY = (inputSize / grid / inputSize) * (longer / p.height);
      for (const code of FINDING_CODES) {
        const f = r.findings.find((x) => x.code === code)!;
        const truth = p.findings.find((x) => x.code === code);
        const hit = truth ? pointingHit(p, truth.mask, f.peak, cellX, cellY) : null;
        cases[code].push({
          label: p.labels[code],
          tier: truth?.tier ?? null,
          probability: f.probability,
          positive: f.positive,
          pointing: hit?.cell ?? null,
          pointingStrict: hit?.strict ?? null,
          iou: truth ? heatmapIoU(p, truth.mask, f.heatmap) : null,
        });
      }
      const generated = labelReport(`${r.text.findings} ${r.text.impression}`);
      for (const code of FINDING_CODES) {
        const c = reportCounts[code];
        if (generated[code] && p.labels[code]) c.tp++;
        else if (generated[code]) c.fp++;
        else if (p.labels[code]) c.fn++;
      }
      const checks = draftTextChecks(pkg.manifest, r, { width: p.width, height: p.height, pixelSpacingMm: p.pixelSpacingMm });
      for (const k of ['contradicting', 'repeated', 'malformed', 'unmeasuredSizes'] as const) {
        text[k] += checks.final[k];
        rawText[k] += checks.raw[k];
      }
      if (checks.edited) text.editedImages++;
      for (const rule of checks.rules) editsByRule[rule] = (editsByRule[rule] ?? 0) + 1;
      if (checks.incomplete) rawText.incompleteImages++;
      const drafted = labelReport(`${checks.sections.findings} ${checks.sections.impression}`);
      for (const code of FINDING_CODES) {
        if (drafted[code] && p.labels[code]) draftCounts.tp++;
        else if (drafted[code]) draftCounts.fp++;
        else if (p.labels[code]) draftCounts.fn++;
      }
      for (const [which, findingsText] of [['raw', r.text.findings], ['final', checks.sections.findings]] as const) {
        for (const m of findingsText.matchAll(LESION_SIZE)) {
          const truth = p.findings.find((x) => x.code === m[2]);
          if (truth) sizeErrors[which].push(Math.abs(Number(m[1]) - truth.sizeMm));
        }
      }
      for (const said of readLesionLocations(r.text.findings)) {
        const truth = p.findings.find((x) => x.code === said.code);
        if (!truth) continue;
        const peak = r.findings.find((x) => x.code === said.code)!.peak;
        location.mentions++;
        if (said.zone === truth.zone) location.zone++;
        if (said.zone === truth.zone && said.side === truth.side) location.sideZone++;
        if (said.zone === zoneOfHeight(peak.y)) location.heatZone++;
        if (said.side === sideOfX(peak.x)) location.heatSide++;
      }
      if (p.findings.length === 0) {
        normalCount++;
        if (r.text.impression === p.reportText.impression) normalRight++;
      }
      if (examples.length < 8) examples.push({ seed: p.seed, truth: `${p.reportText.findings} ${p.reportText.impression}`, generated: `${r.text.findings} ${r.text.impression}`, draft: `${checks.sections.findings} ${checks.sections.impression}` });
    });
    options.onProgress?.(Math.min(options.count, b + batch), options.count);
  }

  const perFinding: EvaluationResult['perFinding'] = {};
  const roc: EvaluationResult['roc'] = {};
  FINDING_CODES.forEach((code, k) => {
    const all = cases[code];
    const subtle = all.filter((c) => c.label === 0 || c.tier === 'subtle');
    const obvious = all.filter((c) => c.label === 0 || c.tier === 'obvious');
    perFinding[code] = {
      all: tierMetrics(all, rounds, options.seed + k),
      obvious: tierMetrics(obvious, rounds, options.seed + 10 + k),
      subtle: tierMetrics(subtle, rounds, options.seed + 20 + k),
      threshold: pkg.manifest.thresholds.values[code]!,
    };
    roc[code] = { all: rocPoints(all), subtle: rocPoints(subtle) };
  });
  const f1 = (c: { tp: number; fp: number; fn: number }): number => (2 * c.tp) / Math.max(1, 2 * c.tp + c.fp + c.fn);
  const total = Object.values(reportCounts).reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), { tp: 0, fp: 0, fn: 0 });

  let robustness: EvaluationResult['robustness'] = null;
  if (robustnessCount > 0) {
    const clean = await macroAucOf(pkg, kept, batch, null);
    robustness = [];
    for (const perturbation of PERTURBATIONS) {
      const m = await macroAucOf(pkg, kept, batch, perturbation);
      robustness.push({ perturbation: perturbation.name, description: perturbation.description, macroAuc: m, cleanMacroAuc: clean, drop: clean - m });
    }
  }

  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ood = await summariseOod(pkg, scopes, options.outOfDistribution ?? {});
  const sizeError = (xs: number[]): SizeError => ({ count: xs.length, meanAbsErrorMm: xs.length ? mean(xs) : Number.NaN });
  const textChecks: TextChecksSummary = {
    ...text,
    images: options.count,
    editsByRule,
    raw: rawText,
    findingF1: { raw: f1(total), final: f1(draftCounts), classifier: f1(classifierCounts(cases)) },
    lesionSizes: { raw: sizeError(sizeErrors.raw), final: sizeError(sizeErrors.final) },
  };
  return {
    summary: {
      model: { id: pkg.manifest.id, version: pkg.manifest.version, sha256: pkg.sha256, executionProvider: pkg.executionProvider },
      seed: options.seed,
      count: options.count,
      macroAuc: mean(FINDING_CODES.map((c) => perFinding[c]!.all.auc.value)),
      macroAucSubtle: mean(FINDING_CODES.map((c) => perFinding[c]!.subtle.auc.value)),
      pointingGame: Object.fromEntries(FINDING_CODES.map((c) => [c, perFinding[c]!.all.pointingGame])),
      reportFindingF1: f1(total),
      textChecks,
      robustnessMaxAucDrop: robustness ? Math.max(...robustness.map((r) => r.drop)) : null,
      msPerImage: analyseMs / options.count,
      ood,
    },
    perFinding,
    report: {
      findingF1: f1(total),
      perFinding: Object.fromEntries(
        FINDING_CODES.map((c) => {
          const x = reportCounts[c];
          return [c, { precision: x.tp / Math.max(1, x.tp + x.fp), recall: x.tp / Math.max(1, x.tp + x.fn), f1: f1(x) }];
        }),
      ),
      normalTextAccuracy: normalCount ? normalRight / normalCount : Number.NaN,
      location: {
        mentions: location.mentions,
        sideZoneMatchesTruth: location.sideZone / Math.max(1, location.mentions),
        zoneMatchesTruth: location.zone / Math.max(1, location.mentions),
        zoneMatchesHeatmap: location.heatZone / Math.max(1, location.mentions),
        sideMatchesHeatmap: location.heatSide / Math.max(1, location.mentions),
      },
      examples,
    },
    robustness,
    roc,
    definitions: {
      subtle: 'all negatives plus the subtle-tier positives of that finding (obvious likewise)',
      pointingGame: `share of positives whose heatmap peak cell (1/${grid} of the model input) contains any ground-truth mask pixel`,
      pointingGameStrict: 'share of positives whose heatmap peak point itself lies on a ground-truth mask pixel',
      meanIoU: 'mean over positives of IoU(heatmap >= 0.5, mask) on the heatmap grid',
      calibrationError: 'expected calibration error, 10 equal-width bins',
      auc: 'Mann-Whitney AUC with a 95% percentile bootstrap interval (cases resampled)',
      reportFindingF1: 'micro F1 over images x findings of labelReport(generated findings + impression) against the truth (the model\'s raw text; textChecks.findingF1.final: the final draft text)',
      textChecks:
        'final draft text (@cxr/drafting composeDraftText, as the report service writes it, with the phantom\'s pixel spacing) and, under raw, the model\'s decoded text. contradicting: sentences stating a finding the classifier calls negative or negating one it calls positive (a normal-study sentence negates all), plus findings stated in one section and not the other; repeated: a sentence equal to an earlier one of its section; malformed: a sentence outside the model\'s sentence forms or structurally broken; unmeasuredSizes: sizes and ratios that are not the value measured on the image (pixel spacing x heatmap hot area; nodule/mass only). editedImages: images whose text the checks changed; raw.incompleteImages: decoding stopped at maxLength without <eos>. lesionSizes: mean absolute difference of stated nodule/mass sizes from the true diameter',
      reportLocation:
        'over nodule/mass sentences of the generated findings about a finding the image has: share whose side and zone (zone) equal the ground truth, and whose zone (side) equals that of the heatmap peak (report-service cut-offs 0.355 / 0.525 of the height; x < 0.5 = patient right)',
      robustnessMaxAucDrop: 'largest drop of macro AUC under the perturbations, on the first robustness images',
      msPerImage: 'wall time of analyse() per image, batched, this machine',
      ood: 'falseFlagRate: share of these fresh phantoms the scope checks refuse (metrics above are over the rest); per set of images the model was not built for: flaggedShare and the AUROC of the out-of-distribution score against these phantoms; auroc: the lower of the two sets',
    },
  };
}

/** Micro confusion counts of the classifier's positive/negative calls over images x findings. */
function classifierCounts(cases: Record<FindingCode, Case[]>): { tp: number; fp: number; fn: number } {
  const all = Object.values(cases).flat();
  return {
    tp: all.filter((c) => c.positive && c.label === 1).length,
    fp: all.filter((c) => c.positive && c.label === 0).length,
    fn: all.filter((c) => !c.positive && c.label === 1).length,
  };
}

function rocPoints(cases: Case[]): number[][] {
  // Thinned to at most ~200 points for the JSON.
  const labels = cases.map((c) => c.label);
  const scores = cases.map((c) => c.probability);
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const P = labels.reduce<number>((a, b) => a + b, 0);
  const N = labels.length - P;
  const pts: number[][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  const step = Math.max(1, Math.floor(idx.length / 200));
  idx.forEach((i, k) => {
    if (labels[i]) tp++;
    else fp++;
    if (k % step === 0 || k === idx.length - 1) pts.push([N ? fp / N : 0, P ? tp / P : 0]);
  });
  return pts;
}
