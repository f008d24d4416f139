import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ensureCorpus } from '@cxr/test-corpus/build';
import { runFuzz } from '../fuzz/fuzz-run.ts';
import { loadFuzzSources, withIngestStack } from '../fuzz/fuzz-stack.ts';

const USAGE = 'usage: npm run fuzz -- [--count N (default 3000)] [--seed S (default random, printed)]';

/**
 * `npm run fuzz`: the fuzz run of ingest's fuzz test, longer and with any seed. It starts its own
 * redis-server, s3rver and ingest (in this process), sends `--count` mutated files through STOW-RS and
 * DIMSE, and prints the report as JSON. Exits 1 on any violation; rerun with the printed seed to replay.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' } }, strict: true });
  const count = values.count === undefined ? 3000 : Number(values.count);
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(count) || count < 2) throw new Error(`--count: a whole number of files, at least 2. ${USAGE}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed: a whole number. ${USAGE}`);
  console.error(`fuzz: seed ${seed}, ${count} files`);
  const sources = loadFuzzSources(ensureCorpus());
  const rssBefore = process.memoryUsage().rss;
  const report = await withIngestStack((target) =>
    runFuzz({ seed, count, sources, target, progress: (sent) => console.error(`fuzz: ${sent} sent`) }),
  );
  console.log(JSON.stringify({ ...report, rssBeforeBytes: rssBefore }, null, 2));
  if (report.violations.length > 0) console.error(`fuzz: ${report.violations.length} violations; replay with --seed ${seed} --count ${count}`);
  return report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
