import { createElement } from 'react';
// The components' styles; OHIF's webpack build bundles them with the extension.
import '@cxr/viewer/viewer.css';
import packageJson from '../package.json' with { type: 'json' };
import { resolveConfiguration, type CxrExtensionConfiguration } from './configuration.ts';
import type { ServicesManagerLike } from './ohif-services.ts';
import { ReportPanel } from './ReportPanel.tsx';

/**
 * OHIF v3 extension: one panel module, `aiReport`, referenced from a mode as
 * `@cxr/ohif-extension.panelModule.aiReport`. The id is the package name, as OHIF's own
 * extensions do. Configuration comes from the app's `extensions` entry (see README).
 */

export const id: string = packageJson.name;
export const PANEL_NAME = 'aiReport';
export const PANEL_ID = `${id}.panelModule.${PANEL_NAME}`;

export interface ExtensionParams {
  servicesManager?: ServicesManagerLike;
  commandsManager?: unknown;
  extensionManager?: unknown;
  configuration?: Partial<CxrExtensionConfiguration>;
}

let configuration: CxrExtensionConfiguration = resolveConfiguration(undefined);

const extension = {
  id,

  /** Called once when the app registers the extension, with its configuration. */
  preRegistration({ configuration: given }: ExtensionParams = {}): void {
    configuration = resolveConfiguration(given);
  },

  getPanelModule({ servicesManager }: ExtensionParams = {}) {
    const AiReportPanel = () => createElement(ReportPanel, { servicesManager, configuration });
    AiReportPanel.displayName = 'CxrAiReportPanel';
    return [
      {
        name: PANEL_NAME,
        iconName: 'tab-linear',
        iconLabel: 'AI report',
        label: 'AI draft report',
        component: AiReportPanel,
      },
    ];
  },
};

export default extension;
export { ReportPanel, type ReportPanelProps } from './ReportPanel.tsx';
export { currentStudyInstanceUid, subscribeToStudyChanges, tokenFromOhif, type ServicesManagerLike } from './ohif-services.ts';
export type { CxrExtensionConfiguration } from './configuration.ts';
