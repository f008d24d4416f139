// `npm run model:import`: a classifier checkpoint (or --random-init) → a v2 model package, checked three ways:
// onnxruntime (Python) and onnxruntime-node against PyTorch to 1e-4 on a few inputs, then the package
// loaded with loadModelPackage and one synthetic phantom analysed through it, as the worker would.
// (hf-vision-encoder-decoder: import-encoder-decoder.ts.)
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadModelPackage } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { checkParity, type ParityResult } from './parity.ts';
import { PYTHON_DIR, run } from './python-env.ts';

export const IMPORT_FORMATS = ['torchxrayvision', 'chexnet', 'hf-vision-encoder-decoder'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export class ImportModelError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ImportModelError';
  }
}

export interface ImportOptions {
  format: ImportFormat;
  /** The checkpoint file (hf-vision-encoder-decoder: the save_pretrained folder); absent with randomInit. */
  checkpoint?: string | undefined;
  /** hf-vision-encoder-decoder: the v2 classifier package whose vision graph, labels, thresholds, heatmaps and OOD detector the package reuses. */
  classifier?: string | undefined;
  randomInit: boolean;
  seed?: number | undefined;
  out: string;
  id?: string | undefined;
  version?: string | undefined;
  /** JSON {label name: probability threshold}. */
  thresholds?: string | undefined;
  /** The venv's python (python-env.ts). */
  python: string;
  log?: (line: string) => void;
  /** Keep <out>/.parity (the inputs and PyTorch's outputs) instead of removing it: for tests. */
  keepParity?: boolean;
}

export interface ImportReport {
  out: string;
  randomInit: boolean;
  parity: {
    onnxruntimePython: Record<string, number>;
    onnxruntimeNode: ParityResult;
    /** max |spatial mean of the CAM logit map − logit|: the classifier weights file matches the graph. */
    camMeanVsLogit: number;
  };
  timings: Record<string, number>;
  loaded: { id: string; version: string; labels: number; executionProvider: string };
  phantom: { inScope: boolean; findings: number; positives: string[]; heatmap: { width: number; height: number } | null; text: string };
}

interface PythonReport {
  out: string;
  parity: { images: number; featureScale: number; onnxruntimePython: Record<string, number>; camMeanVsLogit: number };
  timings: Record<string, number>;
}

export async function importModel(options: ImportOptions): Promise<ImportReport> {
  const log = options.log ?? (() => {});
  if (options.format === 'hf-vision-encoder-decoder') throw new ImportModelError('hf-vision-encoder-decoder: use importEncoderDecoder (import-encoder-decoder.ts)');
  if (options.randomInit === Boolean(options.checkpoint)) throw new ImportModelError('give a checkpoint file or --random-init, not both and not neither');
  if (options.checkpoint && !existsSync(options.checkpoint)) throw new ImportModelError(`${options.checkpoint}: no such file`);
  const out = resolve(options.out);
  const args = [join(PYTHON_DIR, 'import_model.py'), '--format', options.format, '--out', out];
  if (options.randomInit) args.push('--random-init');
  else args.push(resolve(options.checkpoint!));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  if (options.id) args.push('--id', options.id);
  if (options.version) args.push('--version', options.version);
  if (options.thresholds) args.push('--thresholds', resolve(options.thresholds));

  const started = performance.now();
  log(`exporting (${options.format}${options.randomInit ? ', random weights' : `, ${options.checkpoint}`}) to ${out}`);
  const py = await run(options.python, args, { cwd: PYTHON_DIR, onStderr: (c) => log(c.trimEnd()) });
  const lastLine = py.stdout.trim().split('\n').pop() ?? '';
  if (py.code !== 0) throw new ImportModelError(`the export failed (exit ${py.code}): ${py.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).join(' ') || py.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(lastLine) as PythonReport;
  const pythonSeconds = (performance.now() - started) / 1000;

  const t0 = performance.now();
  const parityDir = join(out, '.parity');
  const node = await checkParity(join(out, 'model.onnx'), parityDir, ['logits', 'features', 'pooled']);
  if (!node.pass) throw new ImportModelError(`onnxruntime-node differs from PyTorch: ${JSON.stringify(node.maxAbsDiff)} (tolerances ${JSON.stringify(node.tolerance)})`);
  if (!options.keepParity) await rm(parityDir, { recursive: true, force: true });
  const paritySeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const pkg = await loadModelPackage(out);
  try {
    const phantom = generatePhantom({ seed: 4242, size: 320, aspect: 1.15 });
    const [analysis] = await pkg.analyse([{ width: phantom.width, height: phantom.height, data: toUint16(phantom) }]);
    if (!analysis) throw new ImportModelError('the loaded package returned no analysis for the phantom');
    const first = analysis.findings[0];
    return {
      out,
      randomInit: options.randomInit,
      parity: { onnxruntimePython: report.parity.onnxruntimePython, onnxruntimeNode: node, camMeanVsLogit: report.parity.camMeanVsLogit },
      timings: { ...report.timings, pythonSeconds: round(pythonSeconds), nodeParitySeconds: round(paritySeconds), loadAndAnalyseSeconds: round((performance.now() - t1) / 1000) },
      loaded: { id: pkg.manifest.id, version: pkg.manifest.version, labels: pkg.manifest.labels.length, executionProvider: pkg.executionProvider },
      phantom: {
        inScope: analysis.scope.inScope,
        findings: analysis.findings.length,
        positives: analysis.findings.filter((f) => f.positive).map((f) => f.code),
        heatmap: first ? { width: first.heatmap.width, height: first.heatmap.height } : null,
        text: `${analysis.text.findings} ${analysis.text.impression}`.trim(),
      },
    };
  } finally {
    await pkg.close();
  }
}

export const round = (s: number): number => Math.round(s * 100) / 100;
