// npm run model:import -- --format torchxrayvision|chexnet (<checkpoint> | --random-init [--seed S]) --out <dir>
//                         [--id ID] [--version X.Y.Z] [--thresholds file.json]
// npm run model:import -- --format hf-vision-encoder-decoder (<save_pretrained folder> | --random-init [--seed S]) --classifier <v2 package dir> --out <dir>
//                         [--id ID] [--version X.Y.Z]
// npm run model:import -- --setup        (only make the Python environment)
// Settings: CXR_IMPORTERS_VENV (the venv, default .cache/importers-venv), CXR_IMPORTERS_SYSTEM_PYTHON
// (the python3 that makes it). The venv is made on first use when missing.
import { parseArgs } from 'node:util';
import { importEncoderDecoder } from './import-encoder-decoder.ts';
import { IMPORT_FORMATS, ImportModelError, importModel, type ImportFormat, type ImportOptions } from './import-model.ts';
import { DEFAULT_VENV_DIR, probeEnv, PythonEnvError, setupEnv } from './python-env.ts';

const USAGE = [
  'usage: npm run model:import -- --format torchxrayvision|chexnet (<checkpoint> | --random-init [--seed S]) --out <dir> [--id ID] [--version X.Y.Z] [--thresholds file.json]',
  '       npm run model:import -- --format hf-vision-encoder-decoder (<save_pretrained folder> | --random-init [--seed S]) --classifier <v2 package dir> --out <dir> [--id ID] [--version X.Y.Z]',
  '       npm run model:import -- --setup',
].join('\n');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      'random-init': { type: 'boolean', default: false },
      seed: { type: 'string' },
      id: { type: 'string' },
      version: { type: 'string' },
      thresholds: { type: 'string' },
      classifier: { type: 'string' },
      setup: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const venvDir = process.env.CXR_IMPORTERS_VENV || DEFAULT_VENV_DIR;
  const systemPython = process.env.CXR_IMPORTERS_SYSTEM_PYTHON || 'python3';
  const log = (line: string): void => {
    if (line) console.error(line);
  };
  let env = await probeEnv(venvDir);
  if (values.setup || !env.ready) {
    if (!env.ready) log(env.reason);
    const started = performance.now();
    await setupEnv(venvDir, log, systemPython);
    env = await probeEnv(venvDir);
    if (!env.ready) throw new PythonEnvError(env.reason);
    log(`Python environment ready at ${venvDir} (torch ${env.torch}) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    if (values.setup) return 0;
  }
  const format = values.format;
  if (!format || !(IMPORT_FORMATS as readonly string[]).includes(format)) {
    console.error(`--format must be one of ${IMPORT_FORMATS.join(', ')}\n${USAGE}`);
    return 2;
  }
  if (!values.out || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    console.error(`--seed must be an integer, got ${values.seed}`);
    return 2;
  }
  const options: ImportOptions = {
    format: format as ImportFormat,
    checkpoint: positionals[0],
    randomInit: values['random-init'],
    seed,
    out: values.out,
    id: values.id,
    version: values.version,
    thresholds: values.thresholds,
    classifier: values.classifier,
    python: env.python,
    log,
  };
  const report = format === 'hf-vision-encoder-decoder' ? await importEncoderDecoder(options) : await importModel(options);
  console.log(JSON.stringify(report, null, 2));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ImportModelError || err instanceof PythonEnvError) {
      console.error(`model:import: ${err.message}`);
      process.exit(1);
    }
    throw err;
  },
);
