// tsx models/evaluation/src/cli.ts --model reference-cxr --seed 5000000 --count 1000 --out eval.json
// Generates a fresh labelled phantom set, runs it through @cxr/inference and writes JSON, a
// Markdown summary (eval.md) and ROC curves (eval-roc.png).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchRecord } from '@cxr/devstack/bench-record';
import { loadModelPackage } from '@cxr/inference';
import { evaluateModel } from './evaluate.ts';
import { modelDirOf } from './model-dir.ts';
import { writeEvaluation } from './outputs.ts';

const SHARED_REAL_CXR = fileURLToPath(new URL('../../../../shared/real-cxr', import.meta.url));
const SHARED_DICOM_SAMPLES = fileURLToPath(new URL('../../../../shared/dicom-samples', import.meta.url));
const existing = (dir: string): string | undefined => (existsSync(dir) ? dir : undefined);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'reference-cxr' },
      seed: { type: 'string', default: '5000000' },
      count: { type: 'string', default: '1000' },
      out: { type: 'string', default: 'evaluation.json' },
      size: { type: 'string', default: '256' },
      batch: { type: 'string', default: '16' },
      robustness: { type: 'string' },
      threads: { type: 'string', default: '2' },
      // Images the model was not built for (summary.ood); the shared test folders beside the repo by default.
      'real-dir': { type: 'string' },
      'non-chest-dir': { type: 'string' },
    },
  });
  for (const [flag, dir] of [['--real-dir', values['real-dir']], ['--non-chest-dir', values['non-chest-dir']]] as const) {
    if (dir !== undefined && !existsSync(dir)) {
      console.error(`${flag} ${dir}: no such folder`);
      process.exit(2);
    }
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
    const paths = await writeEvaluation(result, resolve(values.out), benchRecord('eval', settings, {}));
    console.log(JSON.stringify(result.summary, null, 2));
    console.log(`wrote ${paths.json}, ${paths.markdown}, ${paths.png}`);
  } finally {
    await pkg.close();
  }
}

await main();
