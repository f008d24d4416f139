// The eval command's refusal of bad labels: one line naming the file and line, exit status 2, no stack.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stderr: string }> => {
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
};

describe('npm run eval -- --dataset', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('refuses labels that are not 0 or 1 in one line naming the file and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eval-cli-'));
    dirs.push(dir);
    await writeFile(join(dir, 'labels.csv'), 'StudyInstanceUID,finding,label\n1.2.3,nodule,1\n1.2.3,mass,maybe\n');
    const { code, stderr } = await run(['--dataset', dir, '--labels', join(dir, 'labels.csv'), '--out', join(dir, 'out')]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual(['labels.csv line 3: label "maybe" is not 0 or 1']);
  });
});
