/**
 * What an image holds, without a Docker engine: the repository's files (`git ls-files`), less
 * what .dockerignore keeps out of the build context (Docker's own matching rules, by
 * @balena/dockerignore), less what the build stage removes with `rm -rf`. No test file may be
 * left, and everything a service needs to start must be.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT, SERVICE_NAMES } from '@cxr/devstack';
import { buildImportGraph } from '../architecture/import-graph.test-support.ts';
import { readDockerfile } from './dockerfile.test-support.ts';

// The package is CommonJS (`module.exports = factory`) typed as an ES default export: under
// NodeNext the default import is module.exports itself, which its typings do not say.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

const TEST_FILE = /(\.test\.ts|\.int\.test\.ts|\.test-support\.ts)$/;

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
}

/** The paths an `rm -rf` in a RUN line of this stage names (sh globs). */
function removedGlobs(stage: string): string[] {
  const run = stage.replace(/\\\n/g, ' ');
  return [...run.matchAll(/rm -rf ((?:[^&;\n])+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
}

/** sh pathname expansion: `*` and `?` never cross a `/` (sh has no `**`). */
function shGlob(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${source}(/|$)`);
}

function imageFiles(stageName: string): string[] {
  const rules = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const context = dockerignore({ ignorecase: false }).add(rules).filter(trackedFiles());
  const removed = removedGlobs(readDockerfile().stages[stageName]!).map(shGlob);
  return context.filter((file) => !removed.some((glob) => glob.test(file)));
}

describe.each(['build', 'build-gpu'])('the files an image gets from the %s stage', (stage) => {
  const files = imageFiles(stage);

  test('hold no test file: *.test.ts, *.int.test.ts, *.test-support.ts are all left out', () => {
    // The repository has them, so the rules are what keeps them out.
    expect(trackedFiles().filter((f) => TEST_FILE.test(f)).length).toBeGreaterThan(50);
    expect(files.filter((f) => TEST_FILE.test(f))).toEqual([]);
  });

  test('hold every service, the lockfile and each workspace manifest npm ci reads', () => {
    for (const service of SERVICE_NAMES) expect(files).toContain(`services/${service}/src/main.ts`);
    expect(files).toContain('package-lock.json');
    expect(files).toContain('libs/devstack/src/cli/image-start-script.ts');
    const manifests = trackedFiles().filter((f) => /^(libs|services|models)\/[^/]+\/package\.json$|^tests\/package\.json$/.test(f));
    for (const manifest of manifests) expect(files).toContain(manifest);
  });

  test("hold every module a service's main.ts reaches by import (nothing it needs was pruned)", () => {
    const kept = new Set(files);
    const { edges } = buildImportGraph(REPO_ROOT);
    const next = new Map<string, string[]>();
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const reached = new Set<string>(SERVICE_NAMES.map((s) => `services/${s}/src/main.ts`));
    for (const file of reached) for (const to of next.get(file) ?? []) reached.add(to);
    expect(reached.size).toBeGreaterThan(100);
    expect([...reached].filter((f) => !kept.has(f))).toEqual([]);
  });

  test('hold no benchmark, no cross-service test and no model training code', () => {
    expect(files.filter((f) => /^services\/[^/]+\/bench\//.test(f) || /^models\/[^/]+\/training\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('tests/'))).toEqual(['tests/package.json']);
  });
});

describe('the Dockerfile', () => {
  test('prunes with shell globs sh can expand: no `**`, which sh reads as `*` (one folder level only)', () => {
    const { stages } = readDockerfile();
    const globs = Object.values(stages).flatMap(removedGlobs);
    expect(globs.length).toBeGreaterThan(0);
    expect(globs.filter((g) => g.includes('**'))).toEqual([]);
  });
});
