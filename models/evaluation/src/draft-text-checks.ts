// The draft text the report service would write for one evaluated image, and the consistency
// counts of that text and of the model's raw text (@cxr/drafting: the same rules, the same code).
import {
  checkReportText, composeDraftText, confidenceBand, findingGeometry, wordingFor,
  type DraftTextFinding, type DraftTextImage, type TextCheckCounts,
} from '@cxr/drafting';
import type { ImageAnalysis, ModelManifest } from '@cxr/inference';

export interface ImageTextChecks {
  /** Final draft sections. */
  sections: { findings: string; impression: string };
  raw: TextCheckCounts;
  final: TextCheckCounts;
  edited: boolean;
  /** Rules of the edits the checks made. */
  rules: string[];
  incomplete: boolean;
}

const INSTANCE = 'evaluated-image';

/** As the worker stores a heatmap (8-bit, rounded) and the report service reads it back. */
function heatmapPixels(heatmap: { width: number; height: number; data: Float32Array }): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(heatmap.width * heatmap.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, heatmap.data[i]!)) * 255);
  return { width: heatmap.width, height: heatmap.height, data };
}

export function draftTextChecks(
  manifest: ModelManifest,
  analysis: ImageAnalysis,
  image: { width: number; height: number; pixelSpacingMm?: number },
): ImageTextChecks {
  const findings: DraftTextFinding[] = analysis.findings.map((f) => {
    const geometry = findingGeometry(heatmapPixels(f.heatmap), f.peak, f.code);
    const threshold = manifest.thresholds.values[f.code] ?? 0.5;
    return {
      instanceKey: INSTANCE,
      code: f.code,
      display: f.display,
      probability: f.probability,
      positive: f.positive,
      confidence: confidenceBand(f.probability, threshold),
      side: geometry.side,
      zone: geometry.zone,
      region: geometry.region,
    };
  });
  const images: DraftTextImage[] = [{ instanceKey: INSTANCE, ...image, text: analysis.text }];
  const wording = wordingFor(manifest.id);
  const draft = composeDraftText(images, findings, wording);
  return {
    sections: draft.sections,
    raw: checkReportText(analysis.text, images, findings, wording),
    final: checkReportText(draft.sections, images, findings, wording, { answers: true }),
    edited: draft.edits.length > 0,
    rules: draft.edits.map((e) => e.rule),
    incomplete: analysis.text.complete === false,
  };
}
