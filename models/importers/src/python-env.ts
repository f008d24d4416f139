// The Python environment the importers run in: a venv of its own (default .cache/importers-venv in
// the checkout, git-ignored), made with the system's python3 and filled from requirements.txt by
// pip with whatever index pip is configured for (PIP_INDEX_URL etc.). It is made once; a stamp
// with the requirements' sha256 makes a changed requirements file re-install.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IMPORTERS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(IMPORTERS_DIR, '..', '..');
export const REQUIREMENTS_FILE = join(IMPORTERS_DIR, 'requirements.txt');
export const PYTHON_DIR = join(IMPORTERS_DIR, 'python');
export const DEFAULT_VENV_DIR = join(REPO_ROOT, '.cache', 'importers-venv');
const STAMP = '.cxr-requirements.sha256';

export class PythonEnvError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PythonEnvError';
  }
}

export const venvPython = (venvDir: string): string => join(venvDir, 'bin', 'python');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; stderr is passed through to `onStderr` as it comes (progress), and kept. */
export function run(command: string, args: string[], options: { cwd?: string; onStderr?: (chunk: string) => void } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONWARNINGS: 'ignore::DeprecationWarning' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      options.onStderr?.(c);
    });
    child.on('error', (err) => reject(new PythonEnvError(`${command}: cannot run it (${err.message})`, { cause: err })));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

const requirementsHash = async (): Promise<string> => createHash('sha256').update(await readFile(REQUIREMENTS_FILE)).digest('hex');

/** Whether `venvDir` holds an environment made from the current requirements and its torch imports. Never installs. */
export async function probeEnv(venvDir: string): Promise<{ ready: true; python: string; torch: string } | { ready: false; reason: string }> {
  const python = venvPython(venvDir);
  if (!existsSync(python)) return { ready: false, reason: `no Python environment at ${venvDir} (make it with: npm run model:import -- --setup)` };
  const stamp = existsSync(join(venvDir, STAMP)) ? (await readFile(join(venvDir, STAMP), 'utf8')).trim() : '';
  if (stamp !== (await requirementsHash())) return { ready: false, reason: `${venvDir} was not made from the current ${REQUIREMENTS_FILE} (re-run: npm run model:import -- --setup)` };
  const r = await run(python, ['-c', 'import torch, onnxruntime, numpy; print(torch.__version__)']);
  if (r.code !== 0) return { ready: false, reason: `${python} cannot import torch/onnxruntime/numpy: ${r.stderr.trim().split('\n').pop() ?? ''}` };
  return { ready: true, python, torch: r.stdout.trim() };
}

/** Makes (or refreshes) the environment: `python3 -m venv`, then `pip install -r requirements.txt`. */
export async function setupEnv(venvDir: string, log: (line: string) => void, systemPython = 'python3'): Promise<string> {
  const python = venvPython(venvDir);
  if (!existsSync(python)) {
    log(`making a Python environment at ${venvDir} (${systemPython} -m venv)`);
    const made = await run(systemPython, ['-m', 'venv', venvDir]);
    if (made.code !== 0) throw new PythonEnvError(`${systemPython} -m venv ${venvDir} failed: ${made.stderr.trim()} (Debian: apt-get install python3-venv)`);
  }
  log(`installing ${REQUIREMENTS_FILE} into it (pip, with pip's configured index; PIP_INDEX_URL to choose another)`);
  const pip = await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', REQUIREMENTS_FILE], { onStderr: (c) => log(c.trimEnd()) });
  if (pip.code !== 0) throw new PythonEnvError(`pip install -r ${REQUIREMENTS_FILE} failed (exit ${pip.code}): ${pip.stderr.trim().split('\n').slice(-3).join(' ')}`);
  await writeFile(join(venvDir, STAMP), `${await requirementsHash()}\n`);
  return python;
}
