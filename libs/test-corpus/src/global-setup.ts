/**
 * Vitest global setup (root vitest.config.ts): builds the corpus once, before any test file
 * runs, and tells every test where it and the shared samples are.
 */
import type { TestProject } from 'vitest/node';
import { ensureCorpus } from './build.ts';
import { locateSharedSamples } from './shared-samples.ts';
import './provided-context.ts';

export default function setup(project: TestProject): void {
  project.provide('dicomCorpusDir', ensureCorpus());
  project.provide('sharedDicomSamplesDir', locateSharedSamples());
}
