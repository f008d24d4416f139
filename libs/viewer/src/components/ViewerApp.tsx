import { useEffect, useMemo, useRef, useState } from 'react';
import { ReportApiClient } from '../api-client.ts';
import { formatDateTime } from '../format.ts';
import { ReportEventStream } from '../live-events.ts';
import { decodeTokenClaims, isExpired, TOKEN_STORAGE_KEY, tokenFromFragment } from '../token-source.ts';
import { DiscrepancyWorklist } from './DiscrepancyWorklist.tsx';
import { ReviewWorkspace } from './ReviewWorkspace.tsx';
import { Worklist } from './Worklist.tsx';

/**
 * The standalone viewer (served by the report service at `/viewer`): the study comes from
 * `?study=UID` or is picked from the worklist; the token from `#token=`, sessionStorage, or a
 * paste field. One live event stream refreshes the open report and the worklist.
 */

export interface ViewerAppProps {
  /** Report service base URL; '' for the page's own origin. */
  baseUrl?: string;
}

function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null; // storage disabled
  }
}

function storeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
    else sessionStorage.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
}

/** Takes a `#token=` from the address bar into sessionStorage and removes it from the URL. */
function initialToken(): string | null {
  const { token, rest } = tokenFromFragment(window.location.hash);
  if (token) {
    storeToken(token);
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${rest}`);
    return token;
  }
  return readStoredToken();
}

function studyFromLocation(): string | null {
  return new URLSearchParams(window.location.search).get('study');
}

function TokenForm({ onToken, expired }: { onToken(token: string): void; expired: boolean }) {
  const [value, setValue] = useState('');
  return (
    <form
      className="cxr-panel cxr-token-form"
      aria-labelledby="cxr-token-heading"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
      data-testid="token-form"
    >
      <h1 id="cxr-token-heading">Sign in</h1>
      {expired ? (
        <p role="alert" className="cxr-message cxr-message-error">
          Your token has expired: paste a new one.
        </p>
      ) : null}
      <label htmlFor="cxr-token-input">Bearer token (from your identity provider, or `npm run token -- --role radiologist` in development)</label>
      <input id="cxr-token-input" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.currentTarget.value)} data-testid="token-input" />
      <button type="submit" className="cxr-button cxr-primary" disabled={!value.trim()}>
        Use token
      </button>
    </form>
  );
}

export function ViewerApp({ baseUrl = '' }: ViewerAppProps) {
  const [token, setToken] = useState<string | null>(initialToken);
  const [study, setStudy] = useState<string | null>(studyFromLocation);
  const [events, setEvents] = useState<ReportEventStream | undefined>(undefined);
  const [live, setLive] = useState(false);
  const [tab, setTab] = useState<'worklist' | 'peer-review'>('worklist');
  const tokenRef = useRef(token);
  tokenRef.current = token;

  const api = useMemo(() => new ReportApiClient({ baseUrl, getToken: () => tokenRef.current }), [baseUrl]);
  const claims = token ? decodeTokenClaims(token) : null;
  const expired = isExpired(claims);

  useEffect(() => {
    const onPop = () => setStudy(studyFromLocation());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    if (!token || expired) return undefined;
    let stream: ReportEventStream | undefined;
    let cancelled = false;
    void api.eventsUrl().then((url) => {
      if (cancelled) return;
      stream = new ReportEventStream(url, setLive);
      stream.open();
      setEvents(stream);
    });
    return () => {
      cancelled = true;
      stream?.close();
      setEvents(undefined);
      setLive(false);
    };
  }, [api, token, expired]);

  const changeToken = (next: string | null) => {
    storeToken(next);
    setToken(next);
  };
  const openStudy = (uid: string | null) => {
    window.history.pushState(null, '', uid ? `?study=${encodeURIComponent(uid)}` : window.location.pathname);
    setStudy(uid);
  };

  if (!token || expired) {
    return (
      <main className="cxr-viewer">
        <TokenForm onToken={changeToken} expired={expired} />
      </main>
    );
  }

  return (
    <main className="cxr-viewer">
      <nav className="cxr-topbar" aria-label="Viewer">
        <span className="cxr-brand">CXR Assist review</span>
        {study ? (
          <button type="button" className="cxr-button" onClick={() => openStudy(null)} data-testid="back-to-worklist">
            Worklist
          </button>
        ) : (
          <span role="tablist" aria-label="Lists">
            <button type="button" role="tab" aria-selected={tab === 'worklist'} className="cxr-button" onClick={() => setTab('worklist')} data-testid="tab-worklist">
              Worklist
            </button>
            <button type="button" role="tab" aria-selected={tab === 'peer-review'} className="cxr-button" onClick={() => setTab('peer-review')} data-testid="tab-peer-review">
              Peer review
            </button>
          </span>
        )}
        <span className={`cxr-live ${live ? 'cxr-live-on' : ''}`} data-testid="live-state">
          {live ? 'Live updates on' : 'Live updates off'}
        </span>
        <span className="cxr-user" data-testid="signed-in-as">
          {claims?.name ?? 'Signed in'}
          {claims?.roles.length ? ` (${claims.roles.join(', ')})` : ''}
          {claims?.exp ? ` · token expires ${formatDateTime(new Date(claims.exp * 1000).toISOString())}` : ''}
        </span>
        <button type="button" className="cxr-button" onClick={() => changeToken(null)}>
          Sign out
        </button>
      </nav>
      {study ? (
        <ReviewWorkspace key={study} api={api} studyInstanceUid={study} events={events} />
      ) : tab === 'peer-review' ? (
        <DiscrepancyWorklist api={api} onOpen={openStudy} />
      ) : (
        <Worklist api={api} events={events} onOpen={openStudy} />
      )}
    </main>
  );
}
