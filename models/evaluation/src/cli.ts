// tsx models/evaluation/src/cli.ts --model reference-cxr --seed 5000000 --count 1000 --out eval.json
// Generates a fresh labelled phantom set, runs it through @cxr/inference and writes JSON, a
// Markdown summary (eval.md) and ROC curves (eval-roc.png).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchRecord } from '@cxr/devstack/bench-record';
import { loadModelPackage } from '@cxr/inference';
import { evaluateModel } from './evaluate.ts';
import { modelDirOf } from './model-dir.ts';
import { writeEvaluation } from './outputs.ts';

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
    },
  });
  const pkg = await loadModelPackage(modelDirOf(values.model), { executionProviders: ['cuda', 'cpu'], intraOpNumThreads: Number(values.threads) });
  try {
    const result = await evaluateModel(pkg, {
      seed: Number(values.seed),
      count: Number(values.count),
      size: Number(values.size),
      batch: Number(values.batch),
      ...(values.robustness !== undefined ? { robustnessCount: Number(values.robustness) } : {}),
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
