import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { fixtureReport, FIXTURE_STUDY_UID } from '@cxr/viewer/testing';
import extension, { PANEL_ID, ReportPanel } from './index.ts';
import { currentStudyInstanceUid, subscribeToStudyChanges, tokenFromOhif, type ServicesManagerLike } from './ohif-services.ts';

/** OHIF's services as far as the panel uses them: the grid's active viewport and the display sets it shows. */
function servicesShowing(studyByDisplaySet: Record<string, string>, active: string[]) {
  const listeners = new Map<string, Array<() => void>>();
  const subscribe = (event: string, callback: () => void) => {
    listeners.set(event, [...(listeners.get(event) ?? []), callback]);
    return { unsubscribe: () => listeners.set(event, (listeners.get(event) ?? []).filter((c) => c !== callback)) };
  };
  const servicesManager: ServicesManagerLike = {
    services: {
      viewportGridService: {
        EVENTS: { ACTIVE_VIEWPORT_ID_CHANGED: 'event::activeviewportidchanged', GRID_STATE_CHANGED: 'event::gridStateChanged' },
        subscribe,
        getState: () => ({ activeViewportId: 'default', viewports: new Map([['default', { displaySetInstanceUIDs: active }]]) }),
      },
      displaySetService: {
        EVENTS: { DISPLAY_SETS_ADDED: 'event::displaySetService:displaySetsAdded' },
        subscribe,
        getDisplaySetByUID: (uid) => (studyByDisplaySet[uid] ? { StudyInstanceUID: studyByDisplaySet[uid] } : undefined),
      },
      userAuthenticationService: { getAuthorizationHeader: () => ({ Authorization: 'Bearer ohif-token' }) },
    },
  };
  return { servicesManager, listeners };
}

describe('the OHIF extension', () => {
  test('default-exports an extension whose id is the package name, with a panel module', () => {
    expect(extension.id).toBe('@cxr/ohif-extension');
    expect(typeof extension.preRegistration).toBe('function');
    const panels = extension.getPanelModule({});
    expect(panels).toHaveLength(1);
    expect(panels[0]).toMatchObject({ name: 'aiReport', label: 'AI draft report', iconLabel: 'AI report' });
    expect(typeof panels[0]!.component).toBe('function');
    expect(PANEL_ID).toBe('@cxr/ohif-extension.panelModule.aiReport');
  });

  test('refuses a configuration whose report API URL is not a string', () => {
    expect(() => extension.preRegistration({ configuration: { reportApiUrl: 42 as unknown as string } })).toThrow(/reportApiUrl/);
    extension.preRegistration({ configuration: { reportApiUrl: 'https://reports.example' } });
  });

  test('the panel says when the consistency checks edited the model\'s text, and lists the edits', () => {
    const textEdits = [{ section: 'findings' as const, rule: 'repeated' as const, original: 'A large left pleural effusion.', replacement: null }];
    const html = renderToStaticMarkup(
      createElement(ReportPanel, { configuration: { reportApiUrl: 'https://reports.example' }, initialReport: fixtureReport({ textEdits }) }),
    );
    expect(html).toContain('Edited by consistency checks (1 change to the model&#x27;s text)');
    expect(html).toMatch(/data-rule="repeated"[^>]*>.*<del>A large left pleural effusion\.<\/del>/);
  });

  test('the panel renders the fixture report with the AI-draft banner, findings, editor and sign bar', () => {
    const html = renderToStaticMarkup(
      createElement(ReportPanel, { configuration: { reportApiUrl: 'https://reports.example' }, initialReport: fixtureReport() }),
    );
    expect(html).toContain('data-testid="cxr-ohif-panel"');
    expect(html).toContain('cxr-layout-panel');
    expect(html).toContain('AI-generated draft — not reviewed or signed');
    expect(html).toMatch(/data-testid="finding" data-code="nodule"/);
    expect(html).toContain('data-testid="overlay-toggle"');
    expect(html).toContain('data-testid="impression-text"');
    expect(html).toContain('data-testid="sign"');
    expect(html).toContain(FIXTURE_STUDY_UID);
  });

  test('the registered panel component says to open a study when OHIF shows none', () => {
    const [panel] = extension.getPanelModule({ servicesManager: servicesShowing({}, []).servicesManager });
    expect(renderToStaticMarkup(createElement(panel!.component))).toContain('Open a study to see its AI draft report.');
  });
});

describe('reading OHIF services', () => {
  test('the current study is the one in the active viewport', () => {
    const { servicesManager } = servicesShowing({ ds1: '1.2.3', ds2: '1.2.4' }, ['ds2']);
    expect(currentStudyInstanceUid(servicesManager)).toBe('1.2.4');
  });

  test("without services the URL's StudyInstanceUIDs names the study", () => {
    expect(currentStudyInstanceUid(undefined, '?StudyInstanceUIDs=1.2.5,1.2.6')).toBe('1.2.5');
    expect(currentStudyInstanceUid(undefined, '')).toBeNull();
  });

  test('viewport and display set events are subscribed to and released', () => {
    const { servicesManager, listeners } = servicesShowing({}, []);
    let calls = 0;
    const unsubscribe = subscribeToStudyChanges(servicesManager, () => (calls += 1));
    for (const callbacks of listeners.values()) callbacks.forEach((c) => c());
    expect(calls).toBe(3);
    unsubscribe();
    expect([...listeners.values()].flat()).toEqual([]);
  });

  test("OHIF's own bearer token is used by default", () => {
    expect(tokenFromOhif(servicesShowing({}, []).servicesManager)).toBe('ohif-token');
    expect(tokenFromOhif(undefined)).toBeNull();
  });
});
