/**
 * `npm run bench:index [-- --dir docs/benchmarks]`: writes the folder's README.md, the generated
 * table of the benchmark records (`--out` JSON files) kept there. Exits 1, naming the file, when a
 * JSON file in the folder is not a record.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchmarkRecordError, writeBenchmarkIndex } from '@cxr/devstack/benchmark-index';

const { values } = parseArgs({ options: { dir: { type: 'string', default: 'docs/benchmarks' } } });
const dir = resolve(values.dir);
try {
  const count = await writeBenchmarkIndex(dir);
  console.log(`wrote ${dir}/README.md (${count} record${count === 1 ? '' : 's'})`);
} catch (error) {
  if (!(error instanceof BenchmarkRecordError)) throw error;
  console.error(`bench:index: ${error.message}`);
  process.exitCode = 1;
}
