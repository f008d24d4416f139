export { importEncoderDecoder, importModel, ImportModelError, type EncoderDecoderReport, IMPORT_FORMATS, type ImportFormat, type ImportOptions, type ImportReport } from './import-model.ts';
export { checkParity, type ParityResult } from './parity.ts';
export { DEFAULT_VENV_DIR, probeEnv, setupEnv, PythonEnvError, REQUIREMENTS_FILE } from './python-env.ts';
