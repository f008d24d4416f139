// Evaluation of a model package on a hospital's own labelled studies: the images go through
// ingest's and the worker's own code (dataset-images.ts) and the package's `analyse`, and are
// scored with the phantom evaluation's metrics (metrics.ts), overall and for every patient and
// device group (subgroups.ts), with the largest gap between groups called out.
//
// Unit: the study, as labels are given per study. A study's probability for a finding is the
// highest over the images of it the model read, and it is called positive when any of them is
// (the draft states a finding that any image shows). A study the model read no image of (every
// image not eligible by its attributes or refused by the scope checks) has no prediction: it is
// counted (`notRead`, and in the out-of-distribution flag rate) and left out of the metrics.
//
// Nothing that identifies a study or a patient is in the result: counts, rates and intervals only.
import { IsolatedFrameDecoder } from '@cxr/dicom';
import { findingCodesOf, loadModelPackage, type ExecutionProvider, type ImageAnalysis, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { auc, bootstrap, calibrationError, confusion, rates, rocCurve, type Interval } from '../metrics.ts';
import { readDatasetInstances, type SkippedFile } from './dataset-images.ts';
import { readLabelsCsv, readReportLabels, type StudyLabels } from './study-labels.ts';
import { SUBGROUP_ATTRIBUTES, type SubgroupAttribute, type SubgroupValues } from './subgroups.ts';

export interface EvaluateDatasetOptions {
  /** The folder of DICOM studies (searched recursively). */
  datasetDir: string;
  /** The package: loaded here from `packageDir` (and closed after), or one already loaded. */
  packageDir?: string;
  package?: ModelPackage;
  /** Truth: a labels CSV path, a folder of reports, or labels already read. Exactly one. */
  labelsCsv?: string;
  reportsDir?: string;
  labels?: StudyLabels;
  batch?: number;
  bootstrapRounds?: number;
  /** Seed of the bootstrap resampling (default 1). */
  seed?: number;
  /** Groups with fewer positives or fewer negatives than this for a finding are not compared (default 5). */
  minGroupClassCount?: number;
  executionProviders?: ExecutionProvider[];
  threads?: number;
  onProgress?: (images: number) => void;
}

export interface FindingMetrics {
  count: number;
  positives: number;
  threshold: number;
  auc: Interval;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  f1: number;
  calibrationError: number;
}

export interface GroupMetrics {
  studies: number;
  /** Studies the model read and that have labels (the metrics' denominator). */
  evaluated: number;
  outOfDistribution: OodCounts;
  macroAuc: number | null;
  perFinding: Record<string, { count: number; positives: number; auc: Interval; sensitivity: number; specificity: number }>;
}

export interface OodCounts {
  /** Images given to the model (eligible by their attributes and decodable). */
  images: number;
  /** Of those, refused by the scope checks (out of distribution, blank, saturated, ...). */
  flagged: number;
  /** flagged / images; null without images. */
  flagRate: number | null;
  byCheck: Record<string, number>;
}

export interface SubgroupGap {
  attribute: SubgroupAttribute;
  finding: string;
  /** The two groups compared: [higher AUC, lower AUC]. */
  groups: [string, string];
  gap: number;
  higher: { group: string; count: number; positives: number; auc: Interval };
  lower: { group: string; count: number; positives: number; auc: Interval };
  /** Whether the two groups' 95% intervals are apart (lower's hi below higher's lo). */
  intervalsSeparate: boolean;
}

export interface LocalEvaluationResult {
  summary: {
    model: { id: string; version: string; sha256: string; executionProvider: string };
    /** Mean AUC over the findings with both classes among the evaluated studies; null if none. */
    macroAuc: number | null;
    perFinding: Record<string, FindingMetrics>;
    studies: {
      inDataset: number;
      labelled: number;
      evaluated: number;
      /** In the dataset, labelled, with no image the model read. */
      notRead: number;
      /** In the dataset without labels; and labelled studies absent from the dataset. */
      unlabelled: number;
      labelsWithoutImages: number;
    };
    instances: { analysed: number; notEligible: number; notDecodable: number; overImageLimit: number; notEligibleReasons: Record<string, number> };
    outOfDistribution: OodCounts & { studiesNotRead: number };
    subgroups: Record<SubgroupAttribute, Record<string, GroupMetrics>>;
    largestSubgroupGap: SubgroupGap | null;
    skippedFiles: { count: number; reasons: Record<string, number> };
    /** Where labels came from; for reports, how many study × finding labels were left out as uncertain. */
    labels: { source: 'csv' | 'reports' | 'given'; uncertain?: Record<string, number> };
    bootstrapRounds: number;
    minGroupClassCount: number;
  };
  roc: Record<string, { fpr: number; tpr: number }[]>;
  /** ROC of each group of the largest gap (empty without one). */
  gapRoc: Record<string, { fpr: number; tpr: number }[]>;
  definitions: Record<string, string>;
}

interface StudyState {
  values: SubgroupValues | undefined;
  valuesFromImage: boolean;
  read: number;
  probability: Map<string, number>;
  positive: Map<string, boolean>;
  ood: { images: number; flagged: number; byCheck: Record<string, number> };
}

interface StudyCase {
  values: SubgroupValues;
  label: 0 | 1;
  probability: number;
  positive: boolean;
}

const meanOf = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const emptyOod = () => ({ images: 0, flagged: 0, byCheck: {} as Record<string, number> });
const withRate = (o: { images: number; flagged: number; byCheck: Record<string, number> }): OodCounts => ({ ...o, flagRate: o.images ? o.flagged / o.images : null });

function findingMetrics(cases: StudyCase[], threshold: number, rounds: number, seed: number): FindingMetrics {
  const labels = cases.map((c) => c.label);
  const probs = cases.map((c) => c.probability);
  return {
    count: cases.length,
    positives: labels.filter((l) => l === 1).length,
    threshold,
    auc: bootstrap(cases.length, (idx) => auc(Array.from(idx, (i) => labels[i]!), Array.from(idx, (i) => probs[i]!)), rounds, seed),
    ...rates(confusion(labels, cases.map((c) => c.positive))),
    calibrationError: cases.length ? calibrationError(labels, probs) : Number.NaN,
  };
}

async function truthOf(options: EvaluateDatasetOptions, findings: string[]): Promise<{ labels: StudyLabels; source: 'csv' | 'reports' | 'given'; uncertain?: Record<string, number> }> {
  const given = [options.labelsCsv, options.reportsDir, options.labels].filter((x) => x !== undefined).length;
  if (given !== 1) throw new Error('give exactly one source of labels: labelsCsv, reportsDir or labels');
  if (options.labels) return { labels: options.labels, source: 'given' };
  if (options.labelsCsv) return { labels: await readLabelsCsv(options.labelsCsv, findings), source: 'csv' };
  const { labels, uncertain } = await readReportLabels(options.reportsDir!, findings);
  return { labels, source: 'reports', uncertain };
}

export async function evaluateDataset(options: EvaluateDatasetOptions): Promise<LocalEvaluationResult> {
  if ((options.package === undefined) === (options.packageDir === undefined)) throw new Error('give exactly one of package and packageDir');
  const pkg = options.package ?? (await loadModelPackage(options.packageDir!, { executionProviders: options.executionProviders ?? ['cpu'], intraOpNumThreads: options.threads ?? 2 }));
  try {
    return await evaluateWith(pkg, options);
  } finally {
    if (!options.package) await pkg.close();
  }
}

async function evaluateWith(pkg: ModelPackage, options: EvaluateDatasetOptions): Promise<LocalEvaluationResult> {
  const findings = findingCodesOf(pkg.manifest);
  const truth = await truthOf(options, findings);
  const batch = options.batch ?? 8;
  const rounds = options.bootstrapRounds ?? 500;
  const seed = options.seed ?? 1;
  const minClass = options.minGroupClassCount ?? 5;

  const studies = new Map<string, StudyState>();
  const stateOf = (uid: string): StudyState => {
    let s = studies.get(uid);
    if (!s) studies.set(uid, (s = { values: undefined, valuesFromImage: false, read: 0, probability: new Map(), positive: new Map(), ood: emptyOod() }));
    return s;
  };
  const instances = { analysed: 0, notEligible: 0, notDecodable: 0, overImageLimit: 0, notEligibleReasons: {} as Record<string, number> };
  const skipped: SkippedFile[] = [];
  let pending: { uid: string; image: PresentationImage }[] = [];

  const record = (uid: string, r: ImageAnalysis): void => {
    const s = stateOf(uid);
    s.ood.images++;
    if (!r.scope.inScope) {
      s.ood.flagged++;
      s.ood.byCheck[r.scope.check] = (s.ood.byCheck[r.scope.check] ?? 0) + 1;
      return;
    }
    s.read++;
    for (const f of r.findings) {
      s.probability.set(f.code, Math.max(s.probability.get(f.code) ?? 0, f.probability));
      s.positive.set(f.code, (s.positive.get(f.code) ?? false) || f.positive);
    }
  };
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const chunk = pending;
    pending = [];
    const results = await pkg.analyse(chunk.map((c) => c.image));
    results.forEach((r, i) => record(chunk[i]!.uid, r));
    instances.analysed += chunk.length;
    options.onProgress?.(instances.analysed);
  };

  const decoder = new IsolatedFrameDecoder();
  try {
    for await (const inst of readDatasetInstances(options.datasetDir, { scope: pkg.scope, modelInputSize: pkg.manifest.input.size, decoder }, skipped)) {
      const s = stateOf(inst.studyInstanceUid);
      // The study's groups: from its first image the model is given, else its first instance.
      if (s.values === undefined || (inst.image && !s.valuesFromImage)) {
        s.values = inst.values;
        s.valuesFromImage = inst.image !== undefined;
      }
      if (inst.image) {
        pending.push({ uid: inst.studyInstanceUid, image: inst.image });
        if (pending.length >= batch) await flush();
      } else if (inst.notAnalysed) {
        const kind = inst.notAnalysed.kind;
        if (kind === 'not-eligible') {
          instances.notEligible++;
          instances.notEligibleReasons[inst.notAnalysed.reason] = (instances.notEligibleReasons[inst.notAnalysed.reason] ?? 0) + 1;
        } else if (kind === 'not-decodable') instances.notDecodable++;
        else instances.overImageLimit++;
      }
    }
    await flush();
  } finally {
    await decoder.close();
  }

  // Cases per finding, over labelled studies the model read.
  const cases: Record<string, StudyCase[]> = Object.fromEntries(findings.map((f) => [f, []]));
  let evaluated = 0;
  let notRead = 0;
  let unlabelled = 0;
  for (const [uid, s] of studies) {
    const labels = truth.labels.get(uid);
    if (!labels) {
      unlabelled++;
      continue;
    }
    if (s.read === 0) {
      notRead++;
      continue;
    }
    evaluated++;
    for (const [code, label] of labels) {
      const probability = s.probability.get(code);
      if (probability === undefined) continue;
      cases[code]!.push({ values: s.values!, label, probability, positive: s.positive.get(code) ?? false });
    }
  }
  const labelsWithoutImages = [...truth.labels.keys()].filter((uid) => !studies.has(uid)).length;
  const threshold = (code: string): number => pkg.manifest.thresholds.values[code] ?? 0.5;

  const perFinding: Record<string, FindingMetrics> = {};
  const roc: LocalEvaluationResult['roc'] = {};
  findings.forEach((code, k) => {
    if (cases[code]!.length === 0) return;
    perFinding[code] = findingMetrics(cases[code]!, threshold(code), rounds, seed + k);
    roc[code] = rocCurve(cases[code]!.map((c) => c.label), cases[code]!.map((c) => c.probability));
  });
  const macro = (pf: Record<string, { auc: Interval }>): number | null => meanOf(Object.values(pf).map((m) => m.auc.value).filter(Number.isFinite));

  // Subgroups: every study counted in its group's out-of-distribution figures; metrics over its evaluated cases.
  const subgroups = Object.fromEntries(SUBGROUP_ATTRIBUTES.map((a) => [a, {}])) as Record<SubgroupAttribute, Record<string, GroupMetrics>>;
  for (const attribute of SUBGROUP_ATTRIBUTES) {
    const groups = new Set<string>();
    for (const s of studies.values()) if (s.values) groups.add(s.values[attribute]);
    for (const group of [...groups].sort()) {
      const members = [...studies.entries()].filter(([, s]) => s.values?.[attribute] === group);
      const ood = emptyOod();
      for (const [, s] of members) {
        ood.images += s.ood.images;
        ood.flagged += s.ood.flagged;
        for (const [check, n] of Object.entries(s.ood.byCheck)) ood.byCheck[check] = (ood.byCheck[check] ?? 0) + n;
      }
      const groupFindings: GroupMetrics['perFinding'] = {};
      findings.forEach((code, k) => {
        const c = cases[code]!.filter((x) => x.values[attribute] === group);
        if (c.length === 0) return;
        const m = findingMetrics(c, threshold(code), rounds, seed + 100 + k);
        groupFindings[code] = { count: m.count, positives: m.positives, auc: m.auc, sensitivity: m.sensitivity, specificity: m.specificity };
      });
      subgroups[attribute][group] = {
        studies: members.length,
        evaluated: members.filter(([uid, s]) => s.read > 0 && truth.labels.has(uid)).length,
        outOfDistribution: withRate(ood),
        macroAuc: macro(groupFindings),
        perFinding: groupFindings,
      };
    }
  }

  const largestSubgroupGap = largestGap(subgroups, findings, minClass);
  const gapRoc: LocalEvaluationResult['gapRoc'] = {};
  if (largestSubgroupGap) {
    for (const side of [largestSubgroupGap.higher, largestSubgroupGap.lower]) {
      const c = cases[largestSubgroupGap.finding]!.filter((x) => x.values[largestSubgroupGap.attribute] === side.group);
      gapRoc[side.group] = rocCurve(c.map((x) => x.label), c.map((x) => x.probability));
    }
  }

  const total = emptyOod();
  for (const s of studies.values()) {
    total.images += s.ood.images;
    total.flagged += s.ood.flagged;
    for (const [check, n] of Object.entries(s.ood.byCheck)) total.byCheck[check] = (total.byCheck[check] ?? 0) + n;
  }
  const skippedReasons: Record<string, number> = {};
  for (const s of skipped) skippedReasons[s.reason] = (skippedReasons[s.reason] ?? 0) + 1;

  return {
    summary: {
      model: { id: pkg.manifest.id, version: pkg.manifest.version, sha256: pkg.sha256, executionProvider: pkg.executionProvider },
      macroAuc: macro(perFinding),
      perFinding,
      studies: { inDataset: studies.size, labelled: studies.size - unlabelled, evaluated, notRead, unlabelled, labelsWithoutImages },
      instances,
      outOfDistribution: { ...withRate(total), studiesNotRead: [...studies.values()].filter((s) => s.read === 0).length },
      subgroups,
      largestSubgroupGap,
      skippedFiles: { count: skipped.length, reasons: skippedReasons },
      labels: { source: truth.source, ...(truth.uncertain ? { uncertain: truth.uncertain } : {}) },
      bootstrapRounds: rounds,
      minGroupClassCount: minClass,
    },
    roc,
    gapRoc,
    definitions: {
      unit: 'the study: its probability for a finding is the highest over the images of it the model read; it is called positive when any of them is (probability >= the package threshold)',
      auc: 'Mann-Whitney AUC with a 95% percentile bootstrap interval (studies resampled)',
      calibrationError: 'expected calibration error, 10 equal-width bins',
      outOfDistribution: 'images given to the model (eligible by their DICOM attributes and decodable) that the scope checks refused, by check; studiesNotRead: studies with no image the model read (not eligible or refused)',
      subgroups: "groups read from the de-identified metadata (Patient's Sex, Patient's Age in bands, View Position, Manufacturer, Manufacturer's Model Name; 'unknown' when absent)",
      largestSubgroupGap: 'over attributes and findings, the largest difference of AUC between two groups that each have at least minGroupClassCount positive and negative studies for that finding',
    },
  };
}

export function largestGap(subgroups: Record<SubgroupAttribute, Record<string, GroupMetrics>>, findings: string[], minClass: number): SubgroupGap | null {
  let best: SubgroupGap | null = null;
  for (const attribute of SUBGROUP_ATTRIBUTES) {
    for (const finding of findings) {
      const comparable = Object.entries(subgroups[attribute])
        .flatMap(([group, m]) => {
          const f = m.perFinding[finding];
          return f && f.positives >= minClass && f.count - f.positives >= minClass && Number.isFinite(f.auc.value) ? [{ group, count: f.count, positives: f.positives, auc: f.auc }] : [];
        })
        .sort((a, b) => b.auc.value - a.auc.value);
      if (comparable.length < 2) continue;
      const higher = comparable[0]!;
      const lower = comparable[comparable.length - 1]!;
      const gap = higher.auc.value - lower.auc.value;
      if (best === null || gap > best.gap) best = { attribute, finding, groups: [higher.group, lower.group], gap, higher, lower, intervalsSeparate: lower.auc.hi < higher.auc.lo };
    }
  }
  return best;
}
