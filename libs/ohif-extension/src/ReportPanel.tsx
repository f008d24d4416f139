import { useEffect, useMemo, useState } from 'react';
import type { ReportResponse } from '@cxr/contracts';
import { ReportApiClient, ReportEventStream, ReviewWorkspace } from '@cxr/viewer';
import type { CxrExtensionConfiguration } from './configuration.ts';
import { currentStudyInstanceUid, subscribeToStudyChanges, tokenFromOhif, type ServicesManagerLike } from './ohif-services.ts';

/**
 * The OHIF side panel: the report of the study in the active viewport, with the same findings,
 * overlays, editor and sign bar as the standalone `/viewer` page, in one narrow column.
 */

export interface ReportPanelProps {
  servicesManager?: ServicesManagerLike;
  configuration: CxrExtensionConfiguration;
  /** A report already fetched (host prefetch, tests); refreshed by live events. */
  initialReport?: ReportResponse;
}

export function ReportPanel({ servicesManager, configuration, initialReport }: ReportPanelProps) {
  const search = typeof window === 'undefined' ? '' : window.location.search;
  const [study, setStudy] = useState<string | null>(() => initialReport?.studyInstanceUid ?? currentStudyInstanceUid(servicesManager, search));
  const [events, setEvents] = useState<ReportEventStream | undefined>(undefined);

  const api = useMemo(
    () => new ReportApiClient({ baseUrl: configuration.reportApiUrl, getToken: configuration.getToken ?? (() => tokenFromOhif(servicesManager)) }),
    [configuration, servicesManager],
  );

  useEffect(() => subscribeToStudyChanges(servicesManager, () => setStudy(currentStudyInstanceUid(servicesManager, window.location.search))), [servicesManager]);

  useEffect(() => {
    if (configuration.liveUpdates === false) return undefined;
    let stream: ReportEventStream | undefined;
    let cancelled = false;
    void api.eventsUrl().then((url) => {
      if (cancelled) return;
      stream = new ReportEventStream(url);
      stream.open();
      setEvents(stream);
    });
    return () => {
      cancelled = true;
      stream?.close();
    };
  }, [api, configuration.liveUpdates]);

  if (!study) {
    return (
      <div className="cxr-workspace cxr-layout-panel" data-testid="cxr-ohif-panel">
        <p className="cxr-empty">Open a study to see its AI draft report.</p>
      </div>
    );
  }
  return (
    <div className="cxr-ohif-panel" data-testid="cxr-ohif-panel">
      <ReviewWorkspace key={study} api={api} studyInstanceUid={study} initialReport={initialReport} events={events} layout="panel" />
    </div>
  );
}
