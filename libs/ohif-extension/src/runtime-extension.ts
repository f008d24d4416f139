import { Component, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import packageJson from '../package.json' with { type: 'json' };
import { resolveConfiguration, type CxrExtensionConfiguration } from './configuration.ts';
import type { ServicesManagerLike } from './ohif-services.ts';
import { ReportPanel } from './ReportPanel.tsx';

/**
 * The extension as a prebuilt OHIF v3 app loads it at runtime: an ES module named by URL in
 * `window.config.extensions` (OHIF imports strings it does not know with `import()` and takes the
 * default export). A prebuilt OHIF shares no React with code it imports that way (its `peerImport`
 * resolves OHIF's own packages only), so the panel is a React island: OHIF renders a class
 * component (a plain `isReactComponent` object, valid for any React 18 reconciler) whose element is
 * one empty `<div>`, and the panel itself renders inside that div with this bundle's own React and
 * react-dom, unmounted when OHIF unmounts the panel. Its stylesheet sits beside the module.
 *
 * OHIF's `[extension, configuration]` pair needs the extension object itself, which an app config
 * naming a URL does not have, so the configuration is read from `window.config.cxrAiReport` (the
 * `appConfig` OHIF gives `preRegistration`) unless OHIF passed one.
 */

export const id: string = packageJson.name;
export const PANEL_NAME = 'aiReport';
export const APP_CONFIG_KEY = 'cxrAiReport';

interface RuntimeParams {
  servicesManager?: ServicesManagerLike;
  appConfig?: Record<string, unknown>;
  configuration?: Partial<CxrExtensionConfiguration>;
}

let configuration: CxrExtensionConfiguration = resolveConfiguration(undefined);

/** Links the bundle's stylesheet (`cxr-ohif-extension.css` beside the module) once. */
function linkStylesheet(): void {
  if (typeof document === 'undefined' || document.querySelector('link[data-cxr-ohif-extension]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = new URL('./cxr-ohif-extension.css', import.meta.url).href;
  link.dataset.cxrOhifExtension = '';
  document.head.appendChild(link);
}

export function pickConfiguration(params: RuntimeParams): CxrExtensionConfiguration {
  const given = params.configuration && Object.keys(params.configuration).length > 0 ? params.configuration : undefined;
  const fromApp = params.appConfig?.[APP_CONFIG_KEY] as Partial<CxrExtensionConfiguration> | undefined;
  return resolveConfiguration(given ?? fromApp);
}

interface IslandProps {
  servicesManager?: ServicesManagerLike;
}

/** The panel OHIF renders: one div, with the report panel mounted into it by this bundle's React. */
class AiReportIsland extends Component<IslandProps> {
  static displayName = 'CxrAiReportPanel';
  private root: Root | undefined;

  private readonly attach = (node: HTMLDivElement | null): void => {
    if (node && !this.root) {
      this.root = createRoot(node);
      this.root.render(createElement(ReportPanel, { servicesManager: this.props.servicesManager, configuration }));
    }
  };

  override componentWillUnmount(): void {
    const root = this.root;
    this.root = undefined;
    // Unmounting a root while OHIF's React is rendering warns; defer it past OHIF's commit.
    if (root) setTimeout(() => root.unmount(), 0);
  }

  override render() {
    return createElement('div', { ref: this.attach, className: 'cxr-ohif-island', 'data-testid': 'cxr-ohif-island', style: { height: '100%', overflow: 'auto' } });
  }
}

const runtimeExtension = {
  id,

  preRegistration(params: RuntimeParams = {}): void {
    configuration = pickConfiguration(params);
    linkStylesheet();
  },

  getPanelModule({ servicesManager }: RuntimeParams = {}) {
    // A function component without hooks: OHIF's React calls it and gets an element of this bundle's
    // React, which it renders like its own (React 18 elements are tagged with a global Symbol.for).
    const AiReportPanel = () => createElement(AiReportIsland, { servicesManager });
    AiReportPanel.displayName = 'CxrAiReportPanelHost';
    return [{ name: PANEL_NAME, iconName: 'tab-linear', iconLabel: 'AI report', label: 'AI draft report', component: AiReportPanel }];
  },
};

export default runtimeExtension;
