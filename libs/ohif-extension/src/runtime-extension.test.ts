import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { buildRuntimeBundle } from './runtime-bundle.ts';
import runtimeExtension, { APP_CONFIG_KEY, pickConfiguration } from './runtime-extension.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('the runtime extension a prebuilt OHIF loads by URL', () => {
  test('takes the configuration OHIF passes, else window.config.cxrAiReport, and refuses a non-string report URL', () => {
    expect(pickConfiguration({ configuration: { reportApiUrl: 'https://given' }, appConfig: { [APP_CONFIG_KEY]: { reportApiUrl: 'https://app' } } }).reportApiUrl).toBe('https://given');
    expect(pickConfiguration({ configuration: {}, appConfig: { [APP_CONFIG_KEY]: { reportApiUrl: 'https://app', liveUpdates: false } } })).toMatchObject({
      reportApiUrl: 'https://app',
      liveUpdates: false,
    });
    expect(pickConfiguration({}).reportApiUrl).toBe('');
    expect(() => pickConfiguration({ appConfig: { [APP_CONFIG_KEY]: { reportApiUrl: 42 } } })).toThrow(/reportApiUrl must be a string/);
  });

  test('has the package id and one panel whose host component renders without hooks (OHIF React calls it)', () => {
    expect(runtimeExtension.id).toBe('@cxr/ohif-extension');
    const [panel, ...rest] = runtimeExtension.getPanelModule({});
    expect(rest).toHaveLength(0);
    expect(panel).toMatchObject({ name: 'aiReport', label: 'AI draft report' });
    // Called outside any React render: a component with hooks would throw here.
    const element = (panel!.component as () => { type: { prototype?: { isReactComponent?: unknown } } })();
    expect(element.type.prototype?.isReactComponent).toBeTruthy();
  });

  test('builds into one self-contained ES module and its stylesheet, importable with no bare imports left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxr-ohif-bundle-'));
    dirs.push(dir);
    const bundle = await buildRuntimeBundle(dir);
    expect(readFileSync(bundle.css, 'utf8')).toContain('.cxr-');
    const loaded = (await import(pathToFileURL(bundle.js).href)) as { default: typeof runtimeExtension };
    expect(loaded.default.id).toBe('@cxr/ohif-extension');
    expect(loaded.default.getPanelModule({})[0]?.name).toBe('aiReport');
  });
});
