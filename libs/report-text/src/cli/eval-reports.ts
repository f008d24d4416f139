// npm run eval:reports -- --dir <folder of Open-i XML files> --out <file.json> [--disagreements]
// Prints precision, recall and F1 per finding against the records' MeSH coding and writes them
// as JSON. --disagreements also lists, per finding, the files where report and coding differ.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateOpenIFolder } from '../evaluation/report-evaluation.ts';
import { EVALUATED_CODES } from '../evaluation/mesh-mapping.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, out: { type: 'string' }, disagreements: { type: 'boolean', default: false } },
  });
  if (!values.dir) throw new Error('missing --dir <folder of Open-i XML files>');
  const evaluation = await evaluateOpenIFolder(resolve(values.dir));
  if (evaluation.reports === 0) throw new Error(`no Open-i records in ${values.dir}`);

  console.log(
    `${evaluation.reports} coded reports (${evaluation.unindexed} uncoded left out)${evaluation.skipped.length ? `, ${evaluation.skipped.length} files skipped` : ''}`,
  );
  console.log('finding            positives  predicted  precision  recall  F1');
  for (const code of EVALUATED_CODES) {
    const m = evaluation.perFinding[code];
    console.log(
      `${code.padEnd(18)} ${String(m.positives).padStart(9)}  ${String(m.predicted).padStart(9)}  ${m.precision.toFixed(3).padStart(9)}  ${m.recall.toFixed(3).padStart(6)}  ${m.f1.toFixed(3)}`,
    );
  }
  for (const s of evaluation.skipped) console.log(`skipped ${s.file}: ${s.reason}`);
  if (values.disagreements) {
    for (const code of EVALUATED_CODES) {
      const missed = evaluation.outcomes.filter((o) => o.truth.has(code) && !o.predicted.has(code)).map((o) => o.id);
      const extra = evaluation.outcomes.filter((o) => !o.truth.has(code) && o.predicted.has(code)).map((o) => o.id);
      if (missed.length) console.log(`${code} missed: ${missed.join(' ')}`);
      if (extra.length) console.log(`${code} extra: ${extra.join(' ')}`);
    }
  }
  if (values.out) {
    const out = resolve(values.out);
    await mkdir(dirname(out), { recursive: true });
    const json = {
      reports: evaluation.reports,
      unindexed: evaluation.unindexed,
      predictedPositive: 'present or uncertain',
      perFinding: evaluation.perFinding,
      skipped: evaluation.skipped,
    };
    await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`wrote ${out}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
