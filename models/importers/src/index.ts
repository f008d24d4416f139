export { importModel, ImportModelError, IMPORT_FORMATS, type ImportFormat, type ImportOptions, type ImportReport } from './import-model.ts';
export { importEncoderDecoder, PARITY_PHANTOMS, type EncoderDecoderReport } from './import-encoder-decoder.ts';
export { checkParity, type ParityResult } from './parity.ts';
export { DEFAULT_VENV_DIR, probeEnv, setupEnv, PythonEnvError, REQUIREMENTS_FILE } from './python-env.ts';
