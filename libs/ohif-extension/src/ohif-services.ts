/**
 * The few OHIF v3 services the panel reads, typed structurally (this package does not depend on
 * `@ohif/core`, so it builds and tests without OHIF). Every access is optional: a service that an
 * OHIF version lacks makes the panel fall back (to the URL's `StudyInstanceUIDs`, to the
 * configured token provider) rather than fail.
 */

interface Subscription {
  unsubscribe(): void;
}

interface PubSubService {
  EVENTS?: Record<string, string>;
  subscribe?(event: string, callback: (...args: unknown[]) => void): Subscription;
}

export interface ViewportGridServiceLike extends PubSubService {
  getState(): { activeViewportId?: string | null; viewports?: Map<string, { displaySetInstanceUIDs?: string[] }> };
}

export interface DisplaySetServiceLike extends PubSubService {
  getDisplaySetByUID(uid: string): { StudyInstanceUID?: string } | undefined;
  getActiveDisplaySets?(): Array<{ StudyInstanceUID?: string }>;
}

export interface UserAuthenticationServiceLike {
  getAuthorizationHeader?(): { Authorization?: string } | undefined;
}

export interface ServicesManagerLike {
  services: {
    viewportGridService?: ViewportGridServiceLike;
    displaySetService?: DisplaySetServiceLike;
    userAuthenticationService?: UserAuthenticationServiceLike;
  };
}

/** The study shown in the active viewport; else the first displayed study; else `?StudyInstanceUIDs=` of the URL. */
export function currentStudyInstanceUid(servicesManager: ServicesManagerLike | undefined, search = ''): string | null {
  const { viewportGridService, displaySetService } = servicesManager?.services ?? {};
  if (viewportGridService && displaySetService) {
    const { activeViewportId, viewports } = viewportGridService.getState();
    const viewport = activeViewportId ? viewports?.get(activeViewportId) : undefined;
    for (const uid of viewport?.displaySetInstanceUIDs ?? []) {
      const study = displaySetService.getDisplaySetByUID(uid)?.StudyInstanceUID;
      if (study) return study;
    }
  }
  const shown = displaySetService?.getActiveDisplaySets?.().find((ds) => ds.StudyInstanceUID)?.StudyInstanceUID;
  if (shown) return shown;
  const params = new URLSearchParams(search);
  const fromUrl = params.get('StudyInstanceUIDs') ?? params.get('studyInstanceUIDs');
  return fromUrl ? (fromUrl.split(',')[0]?.trim() ?? null) || null : null;
}

/** Calls `onChange` when the active viewport or the displayed studies change; returns the unsubscribe. */
export function subscribeToStudyChanges(servicesManager: ServicesManagerLike | undefined, onChange: () => void): () => void {
  const subscriptions: Subscription[] = [];
  const { viewportGridService, displaySetService } = servicesManager?.services ?? {};
  const watch = (service: PubSubService | undefined, names: string[]) => {
    for (const name of names) {
      const event = service?.EVENTS?.[name];
      if (event && service?.subscribe) subscriptions.push(service.subscribe(event, () => onChange()));
    }
  };
  watch(viewportGridService, ['ACTIVE_VIEWPORT_ID_CHANGED', 'GRID_STATE_CHANGED', 'VIEWPORTS_READY']);
  watch(displaySetService, ['DISPLAY_SETS_ADDED', 'DISPLAY_SETS_CHANGED']);
  return () => subscriptions.forEach((s) => s.unsubscribe());
}

/** The bearer token OHIF itself uses for its data source (OIDC sign-in), if any. */
export function tokenFromOhif(servicesManager: ServicesManagerLike | undefined): string | null {
  const header = servicesManager?.services.userAuthenticationService?.getAuthorizationHeader?.()?.Authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}
