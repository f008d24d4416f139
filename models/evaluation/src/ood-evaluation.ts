// How well the package's scope checks separate what the model was built for from what it was not:
// the false-flag rate on fresh in-distribution images (from the phantom evaluation), and for each
// folder of images it was not built for (real radiographs, non-chest images), the share flagged and
// the AUROC of the out-of-distribution score against the fresh in-distribution images.
import { basename } from 'node:path';
import type { ModelPackage } from '@cxr/inference';
import { auc } from './metrics.ts';
import { readDicomImages } from './dicom-images.ts';

export interface OodSetResult {
  dir: string;
  images: number;
  flagged: number;
  flaggedShare: number;
  /** AUROC of the score, this set (positive) against the fresh in-distribution images; null without scores. */
  auroc: number | null;
  byCheck: Record<string, number>;
  minScore: number | null;
  skipped: number;
}

export interface OodSummary {
  threshold: number | null;
  /** Share of the fresh in-distribution images flagged (any check). */
  falseFlagRate: number;
  inDistribution: { images: number; flagged: number; byCheck: Record<string, number>; maxScore: number | null };
  auroc: number | null;
  /** Every image of the two sets flagged, and the set AUROC. */
  realRadiographs: OodSetResult | null;
  nonChest: OodSetResult | null;
  flaggedShare: { realRadiographs: number | null; nonChest: number | null };
}

/** What the phantom loop collects about scope, image by image. */
export class InDistributionScopes {
  readonly scores: number[] = [];
  flagged = 0;
  images = 0;
  readonly byCheck: Record<string, number> = {};

  add(scope: Awaited<ReturnType<ModelPackage['analyse']>>[number]['scope']): void {
    this.images++;
    if (scope.score !== null) this.scores.push(scope.score);
    if (!scope.inScope) {
      this.flagged++;
      this.byCheck[scope.check] = (this.byCheck[scope.check] ?? 0) + 1;
    }
  }
}

/** Non-chest modalities among DICOM samples (CT, MR, US, NM frames: what no radiograph model reads). */
export const NON_CHEST_MODALITIES = new Set(['CT', 'MR', 'US', 'NM', 'OT', 'PT', 'XA', 'MG', 'SC']);

export async function evaluateOodSet(pkg: ModelPackage, dir: string, inDistributionScores: number[], filter: (modality: string | undefined) => boolean = () => true): Promise<OodSetResult> {
  const { images, skipped } = await readDicomImages(dir, { inputSize: pkg.manifest.input.size, maxFrames: 3 });
  const chosen = images.filter((i) => filter(i.modality));
  const scores: number[] = [];
  const byCheck: Record<string, number> = {};
  let flagged = 0;
  for (let b = 0; b < chosen.length; b += 8) {
    const results = await pkg.analyse(chosen.slice(b, b + 8).map((i) => i.image));
    for (const r of results) {
      if (r.scope.score !== null) scores.push(r.scope.score);
      if (!r.scope.inScope) {
        flagged++;
        byCheck[r.scope.check] = (byCheck[r.scope.check] ?? 0) + 1;
      }
    }
  }
  const canScore = scores.length > 0 && inDistributionScores.length > 0;
  return {
    // The folder's name only: an absolute path says nothing to a reader of the record elsewhere.
    dir: basename(dir),
    images: chosen.length,
    flagged,
    flaggedShare: chosen.length ? flagged / chosen.length : Number.NaN,
    auroc: canScore ? auc([...scores.map(() => 1), ...inDistributionScores.map(() => 0)], [...scores, ...inDistributionScores]) : null,
    byCheck,
    minScore: scores.length ? Math.min(...scores) : null,
    skipped: skipped.length + (images.length - chosen.length),
  };
}

export async function summariseOod(pkg: ModelPackage, inDistribution: InDistributionScopes, sets: { realRadiographs?: string | undefined; nonChest?: string | undefined }): Promise<OodSummary> {
  const real = sets.realRadiographs ? await evaluateOodSet(pkg, sets.realRadiographs, inDistribution.scores) : null;
  const nonChest = sets.nonChest ? await evaluateOodSet(pkg, sets.nonChest, inDistribution.scores, (m) => NON_CHEST_MODALITIES.has((m ?? '').toUpperCase())) : null;
  const outside = [real, nonChest].filter((s): s is OodSetResult => s !== null);
  const aurocs = outside.flatMap((s) => (s.auroc === null ? [] : [s.auroc]));
  return {
    threshold: pkg.manifest.ood?.threshold ?? null,
    falseFlagRate: inDistribution.images ? inDistribution.flagged / inDistribution.images : Number.NaN,
    inDistribution: { images: inDistribution.images, flagged: inDistribution.flagged, byCheck: inDistribution.byCheck, maxScore: inDistribution.scores.length ? Math.max(...inDistribution.scores) : null },
    // The lower of the two sets' AUROCs: the separation the detector achieves on both.
    auroc: aurocs.length ? Math.min(...aurocs) : null,
    realRadiographs: real,
    nonChest,
    flaggedShare: { realRadiographs: real?.flaggedShare ?? null, nonChest: nonChest?.flaggedShare ?? null },
  };
}
