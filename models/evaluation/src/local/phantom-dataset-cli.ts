// npm run phantom-dataset -w models/evaluation -- --dir /tmp/phantom-hospital --per-device 64
// Writes a labelled folder of DICOM phantom studies (phantom-dataset.ts) to try the local evaluation
// on: three device makes, one of which ("Borealis Medical") has subtle nodules, the planted weakness.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writePhantomDataset } from './phantom-dataset.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'per-device': { type: 'string', default: '16' },
    seed: { type: 'string', default: '7100000' },
    size: { type: 'string', default: '300' },
    paediatric: { type: 'string', default: '2' },
  },
});
const numbers = { perDevice: Number(values['per-device']), seed: Number(values.seed), size: Number(values.size), paediatric: Number(values.paediatric) };
if (values.dir === undefined || Object.values(numbers).some((n) => !Number.isInteger(n) || n < 0) || numbers.perDevice < 1 || numbers.size < 64) {
  console.error('usage: --dir <folder> [--per-device 16] [--seed 7100000] [--size 300 (px, at least 64)] [--paediatric 2]');
  process.exit(2);
}
const dir = resolve(values.dir);
const { studies, labelsCsv, dicomDir } = await writePhantomDataset({
  dir,
  seed: numbers.seed,
  studiesPerDevice: numbers.perDevice,
  size: numbers.size,
  paediatric: numbers.paediatric,
  devices: [
    { manufacturer: 'Acme Radiography', modelName: 'AR-100' },
    { manufacturer: 'Borealis Medical', modelName: 'BX-2', weak: true },
    { manufacturer: 'Cobalt Imaging', modelName: 'C-Vision' },
  ],
});
console.log(`wrote ${studies.length} studies to ${dicomDir} and their labels to ${labelsCsv}`);
console.log(`evaluate: npm run eval -- --dataset ${dicomDir} --labels ${labelsCsv} --out ${dir}/evaluation`);
