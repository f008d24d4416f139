// tsx models/evaluation/src/cli.ts --model reference-cxr --seed 5000000 --count 1000 --out eval.json
// Generates a fresh labelled phantom set, runs it through @cxr/inference and writes JSON, a
// Markdown summary (eval.md) and ROC curves (eval-roc.png).
// With --dataset <folder> (--labels <csv> or --reports <folder>): evaluates the package on those
// DICOM studies instead (local/local-evaluation.ts) and writes evaluation.json, evaluation.md and
// roc.svg into --out <folder>.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchRecord } from '@cxr/devstack/bench-record';
import { loadModelPackage } from '@cxr/inference';
import { evaluateModel } from './evaluate.ts';
import { evaluateDataset } from './local/local-evaluation.ts';
import { writeLocalEvaluation } from './local/local-outputs.ts';
import { LabelsError } from './local/study-labels.ts';
import { modelDirOf } from './model-dir.ts';
import { writeEvaluation } from './outputs.ts';

const SHARED_REAL_CXR = fileURLToPath(new URL('../../../../shared/real-cxr', import.meta.url));
const SHARED_DICOM_SAMPLES = fileURLToPath(new URL('../../../../shared/dicom-samples', import.meta.url));
const existing = (dir: string): string | undefined => (existsSync(dir) ? dir : undefined);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'reference-cxr' },
      // Local evaluation: a folder of DICOM studies and its labels (a CSV, or a folder of reports).
      dataset: { type: 'string' },
      labels: { type: 'string' },
      reports: { type: 'string' },
      package: { type: 'string' },
      seed: { type: 'string', default: '5000000' },
      count: { type: 'string', default: '1000' },
      out: { type: 'string' },
      size: { type: 'string', default: '256' },
      batch: { type: 'string', default: '16' },
      robustness: { type: 'string' },
      threads: { type: 'string', default: '2' },
      // Images the model was not built for (summary.ood); the shared test folders beside the repo by default.
      'real-dir': { type: 'string' },
      'non-chest-dir': { type: 'string' },
      rounds: { type: 'string', default: '500' },
    },
  });
  for (const [flag, dir] of [['--real-dir', values['real-dir']], ['--non-chest-dir', values['non-chest-dir']], ['--dataset', values.dataset], ['--reports', values.reports]] as const) {
    if (dir !== undefined && !existsSync(dir)) {
      console.error(`${flag} ${dir}: no such folder`);
      process.exit(2);
    }
  }
  if (values.dataset !== undefined) {
    await localEvaluation(values);
    return;
  }
  if (values.package !== undefined) values.model = values.package;
  if (values.labels !== undefined || values.reports !== undefined) {
    console.error('--labels and --reports go with --dataset <folder of DICOM studies>');
    process.exit(2);
  }
  const pkg = await loadModelPackage(modelDirOf(values.model), { executionProviders: ['cuda', 'cpu'], intraOpNumThreads: Number(values.threads) });
  try {
    const result = await evaluateModel(pkg, {
      seed: Number(values.seed),
      count: Number(values.count),
      size: Number(values.size),
      batch: Number(values.batch),
      ...(values.robustness !== undefined ? { robustnessCount: Number(values.robustness) } : {}),
      outOfDistribution: {
        realRadiographs: values['real-dir'] ?? existing(SHARED_REAL_CXR),
        nonChest: values['non-chest-dir'] ?? existing(SHARED_DICOM_SAMPLES),
      },
      onProgress: (done, total) => {
        if (done % 200 < Number(values.batch) || done === total) process.stderr.write(`evaluated ${done}/${total}\n`);
      },
    });
    const settings = { model: values.model, seed: Number(values.seed), count: Number(values.count), size: Number(values.size), batch: Number(values.batch), threads: Number(values.threads) };
    const paths = await writeEvaluation(result, resolve(values.out ?? 'evaluation.json'), benchRecord('eval', settings, {}));
    console.log(JSON.stringify(result.summary, null, 2));
    console.log(`wrote ${paths.json}, ${paths.markdown}, ${paths.png}`);
  } finally {
    await pkg.close();
  }
}

async function localEvaluation(values: { dataset?: string | undefined; labels?: string | undefined; reports?: string | undefined; package?: string | undefined; model: string; out?: string | undefined; batch: string; threads: string; rounds: string }): Promise<void> {
  if ((values.labels === undefined) === (values.reports === undefined)) {
    console.error('--dataset needs its labels: --labels <csv with StudyInstanceUID,finding,label> or --reports <folder of <StudyInstanceUID>.txt|.xml>');
    process.exit(2);
  }
  if (values.labels !== undefined && !existsSync(values.labels)) {
    console.error(`--labels ${values.labels}: no such file`);
    process.exit(2);
  }
  const packageDir = modelDirOf(values.package ?? values.model);
  const out = resolve(values.out ?? 'evaluation-local');
  const result = await evaluateDataset({
    datasetDir: resolve(values.dataset!),
    packageDir,
    ...(values.labels !== undefined ? { labelsCsv: resolve(values.labels) } : { reportsDir: resolve(values.reports!) }),
    batch: Number(values.batch),
    bootstrapRounds: Number(values.rounds),
    executionProviders: ['cuda', 'cpu'],
    threads: Number(values.threads),
    onProgress: (images) => {
      if (images % 200 < Number(values.batch)) process.stderr.write(`analysed ${images} images\n`);
    },
  }).catch((error: unknown) => {
    // Bad labels: one line naming the file and line, not a stack.
    if (!(error instanceof LabelsError)) throw error;
    console.error(error.message);
    process.exit(2);
  });
  const settings = { mode: 'local dataset', model: result.summary.model.id, version: result.summary.model.version, labels: result.summary.labels.source, rounds: Number(values.rounds) };
  const paths = await writeLocalEvaluation(result, out, benchRecord('eval', settings, {}));
  const { macroAuc, largestSubgroupGap, outOfDistribution, studies } = result.summary;
  console.log(JSON.stringify({ macroAuc, studies, outOfDistribution, largestSubgroupGap }, null, 2));
  console.log(`wrote ${paths.json}, ${paths.markdown}, ${paths.svg}`);
}

await main();
