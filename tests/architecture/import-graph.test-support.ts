/**
 * The repository's import graph, from the files git tracks: every static import and re-export,
 * `import type` included (a type-only circle still ties two modules together), and every
 * `import('...')` with a literal specifier. Relative specifiers resolve to files; `@cxr/...`
 * resolves through the workspace's package.json `exports`. Read with TypeScript's own
 * pre-processor, so comments and strings that look like imports are not imports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

export interface Workspace {
  name: string;
  dir: string;
  exports: Record<string, string>;
}

export interface ImportEdge {
  from: string;
  to: string;
  specifier: string;
}

export interface ImportGraph {
  files: string[];
  workspaces: Workspace[];
  edges: ImportEdge[];
  /** `@cxr/...` or relative specifiers that resolve to no file. */
  unresolved: ImportEdge[];
}

const SOURCE = /\.(ts|tsx|mts|cts)$/;

export function trackedFiles(root: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(root, f)));
}

export function readWorkspaces(root: string, files: readonly string[]): Workspace[] {
  return files
    .filter((f) => /^(libs|services|models)\/[^/]+\/package\.json$|^tests\/package\.json$/.test(f))
    .map((f) => {
      const manifest = JSON.parse(readFileSync(join(root, f), 'utf8')) as { name: string; exports?: string | Record<string, string> };
      const exports = typeof manifest.exports === 'string' ? { '.': manifest.exports } : (manifest.exports ?? {});
      return { name: manifest.name, dir: dirname(f), exports };
    });
}

/** The file a package subpath (`.`, `./dicom`) names, through its exports map (`*` patterns too). */
function resolveExport(workspace: Workspace, subpath: string): string | undefined {
  const exact = workspace.exports[subpath];
  if (exact !== undefined) return normalize(join(workspace.dir, exact));
  for (const [key, target] of Object.entries(workspace.exports)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= prefix.length + suffix.length) {
      const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
      return normalize(join(workspace.dir, target.replace('*', matched)));
    }
  }
  return undefined;
}

function resolveFile(candidate: string, known: ReadonlySet<string>): string | undefined {
  const options = [candidate, candidate.replace(/\.js$/, '.ts'), candidate.replace(/\.jsx$/, '.tsx'), `${candidate}.ts`, `${candidate}.tsx`, join(candidate, 'index.ts')];
  return options.find((o) => known.has(o));
}

export function buildImportGraph(root: string): ImportGraph {
  const tracked = trackedFiles(root);
  const known = new Set(tracked);
  const workspaces = readWorkspaces(root, tracked);
  const byName = new Map(workspaces.map((w) => [w.name, w]));
  const files = tracked.filter((f) => SOURCE.test(f) && !f.startsWith('vendor/') && !f.endsWith('.d.ts'));
  const edges: ImportEdge[] = [];
  const unresolved: ImportEdge[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(root, from), 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      let to: string | undefined;
      if (specifier.startsWith('.')) {
        to = resolveFile(normalize(join(dirname(from), specifier)), known);
      } else {
        const match = /^(@cxr\/[^/]+)(\/.*)?$/.exec(specifier);
        if (!match) continue; // node: builtins and npm packages are not ours
        const workspace = byName.get(match[1]!);
        const target = workspace && resolveExport(workspace, `.${match[2] ?? ''}`);
        to = target && resolveFile(target, known);
      }
      if (to === undefined) unresolved.push({ from, to: '', specifier });
      else if (SOURCE.test(to)) edges.push({ from, to, specifier });
    }
  }
  return { files, workspaces, edges, unresolved };
}

/** Which workspace folder a file is in (`libs/dicom`), or undefined for the root's own files. */
export function workspaceOf(file: string, workspaces: readonly Workspace[]): Workspace | undefined {
  return workspaces.find((w) => file.startsWith(`${w.dir}/`));
}

/**
 * The import circles: each strongly connected component of more than one node (or a node that
 * imports itself), as one cycle through it, in import order. Tarjan's algorithm, iterative.
 */
export function findCycles(nodes: readonly string[], edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const targets = next.get(frame.node)!;
      if (frame.i < targets.length) {
        const to = targets[frame.i++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, i: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && next.get(component[0]!)!.includes(component[0]!);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((component) => cycleThrough(component, next));
}

/** One closed path through a component, starting at its first member in sort order. */
function cycleThrough(component: string[], next: ReadonlyMap<string, string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  // Breadth-first from start back to start, inside the component: a shortest circle.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const to of next.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}
