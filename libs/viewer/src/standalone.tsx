import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ViewerApp } from './components/ViewerApp.tsx';
import './viewer.css';

/**
 * Browser entry of the standalone `/viewer` page (bundled by the report service with esbuild):
 * mounts the ViewerApp on `#cxr-viewer-root`; `data-api-base` names the report service when it
 * is not the page's own origin.
 */
const root = document.getElementById('cxr-viewer-root');
if (!root) throw new Error('the viewer page has no #cxr-viewer-root element');
createRoot(root).render(
  <StrictMode>
    <ViewerApp baseUrl={root.dataset.apiBase ?? ''} />
  </StrictMode>,
);
