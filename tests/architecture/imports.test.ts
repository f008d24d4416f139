/**
 * The architecture the layout promises, checked on every file git tracks: no import circle (file
 * by file, and between workspaces), no service importing another service, no library importing
 * a service. Services talk through queues and HTTP, with contracts in libs/contracts.
 */
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '@cxr/devstack';
import { buildImportGraph, findCycles, workspaceOf } from './import-graph.test-support.ts';

const graph = buildImportGraph(REPO_ROOT);
const serviceOf = (file: string): string | undefined => /^services\/([^/]+)\//.exec(file)?.[1];

describe('the import graph', () => {
  test('is read from the whole repository, workspaces included', () => {
    expect(graph.files.length).toBeGreaterThan(200);
    expect(graph.edges.length).toBeGreaterThan(500);
    expect(graph.edges.some((e) => e.specifier.startsWith('@cxr/'))).toBe(true);
  });

  test('has no import that resolves to nothing', () => {
    expect(graph.unresolved.map((e) => `${e.from} imports ${e.specifier}`)).toEqual([]);
  });

  test('has no circle between files (type-only imports count: they still tie two modules together)', () => {
    expect(findCycles(graph.files, graph.edges).map((c) => c.join(' -> '))).toEqual([]);
  });

  test('has no circle between workspaces', () => {
    const edges = graph.edges
      .map((e) => ({ from: workspaceOf(e.from, graph.workspaces)?.name ?? '(root)', to: workspaceOf(e.to, graph.workspaces)?.name ?? '(root)' }))
      .filter((e) => e.from !== e.to);
    expect(findCycles([], edges).map((c) => c.join(' -> '))).toEqual([]);
  });

  /** The service an import reaches: by the file it resolves to, or by the package it names (resolved or not). */
  const serviceReached = (e: { to: string; specifier: string }): string | undefined => {
    const byPackage = graph.workspaces.find((w) => w.dir.startsWith('services/') && (e.specifier === w.name || e.specifier.startsWith(`${w.name}/`)));
    return (e.to !== '' ? serviceOf(e.to) : undefined) ?? (byPackage ? serviceOf(`${byPackage.dir}/`) : undefined);
  };
  const allImports = [...graph.edges, ...graph.unresolved];

  test('has no service importing another service, by path or by package name', () => {
    const crossing = allImports.filter((e) => {
      const from = serviceOf(e.from);
      const to = serviceReached(e);
      return from !== undefined && to !== undefined && from !== to;
    });
    expect(crossing.map((e) => `${e.from} imports ${e.specifier}`)).toEqual([]);
  });

  test('has no library importing a service', () => {
    const upward = allImports.filter((e) => e.from.startsWith('libs/') && serviceReached(e) !== undefined);
    expect(upward.map((e) => `${e.from} imports ${e.specifier}`)).toEqual([]);
  });
});

describe('findCycles', () => {
  test('finds a circle of three, a self-import, and nothing in a tree', () => {
    const edges = [
      { from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' },
      { from: 'c', to: 'd' }, { from: 'e', to: 'e' }, { from: 'f', to: 'd' },
    ];
    expect(findCycles([], edges)).toEqual([['a', 'b', 'c', 'a'], ['e', 'e']]);
    expect(findCycles([], [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'c' }])).toEqual([]);
  });
});
