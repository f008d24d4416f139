import type { TokenProvider } from '@cxr/viewer';

/**
 * The extension's configuration, given where the OHIF app registers it:
 * `extensions: [[cxrReportExtension, { reportApiUrl: 'https://reports.example', getToken }]]`.
 */
export interface CxrExtensionConfiguration {
  /** Base URL of the report service (its `/api` is called from the browser: allow OHIF's origin there). */
  reportApiUrl: string;
  /**
   * Bearer token for the report API. Defaults to the token OHIF's own user authentication service
   * holds (OIDC sign-in), which the report service accepts when both trust the same issuer.
   */
  getToken?: TokenProvider;
  /** Follow `report-updated` server-sent events for the open study (default true). */
  liveUpdates?: boolean;
}

const DEFAULTS: CxrExtensionConfiguration = { reportApiUrl: '', liveUpdates: true };

export function resolveConfiguration(configuration: Partial<CxrExtensionConfiguration> | undefined): CxrExtensionConfiguration {
  const merged = { ...DEFAULTS, ...(configuration ?? {}) };
  if (typeof merged.reportApiUrl !== 'string') throw new Error('@cxr/ohif-extension: reportApiUrl must be a string (the report service base URL)');
  return merged;
}
