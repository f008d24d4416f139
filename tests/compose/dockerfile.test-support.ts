/** Reads the one Dockerfile (repository root) as its build stages, for the compose and k8s tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@cxr/devstack';

export const DOCKERFILE = 'Dockerfile';

export interface Dockerfile {
  text: string;
  /** Each stage's lines (from its FROM to the next), by its `AS` name. */
  stages: Record<string, string>;
  /** The stage a build without --target makes: the last one. */
  defaultStage: string;
}

export function readDockerfile(): Dockerfile {
  const text = readFileSync(join(REPO_ROOT, DOCKERFILE), 'utf8');
  const stages: Record<string, string> = {};
  let defaultStage = '';
  for (const block of text.split(/^(?=FROM )/m).filter((b) => b.startsWith('FROM '))) {
    const name = /^FROM \S+ AS (\S+)$/m.exec(block)?.[1];
    if (name === undefined) throw new Error(`every stage is named: ${block.split('\n')[0]}`);
    stages[name] = block;
    defaultStage = name;
  }
  return { text, stages, defaultStage };
}

/** The exec-form CMD of a stage, as its argv. */
export function cmdOf(stage: string): string[] | undefined {
  const cmd = /^CMD (\[.*\])$/m.exec(stage)?.[1];
  return cmd === undefined ? undefined : (JSON.parse(cmd) as string[]);
}
