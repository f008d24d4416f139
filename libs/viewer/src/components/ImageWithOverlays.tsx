import type { ReportResponse } from '@cxr/contracts';
import { findingKey, type Highlight, type OverlaySetting } from '../review-state.ts';

/**
 * Each analysed image as its grey preview with the findings' overlay PNGs stacked on top (same
 * extent as the preview, so they line up by plain CSS stacking), each with its own visibility and
 * opacity, plus an outline of the region a hovered report sentence or finding refers to.
 */

export interface ImageWithOverlaysProps {
  report: Pick<ReportResponse, 'images' | 'findings'>;
  overlays: Record<string, OverlaySetting>;
  highlight: Highlight | null;
}

export function ImageWithOverlays({ report, overlays, highlight }: ImageWithOverlaysProps) {
  if (report.images.length === 0) {
    return <p className="cxr-empty" data-testid="no-images">No analysed images for this study.</p>;
  }
  return (
    <div className="cxr-images">
      {report.images.map((image, index) => {
        const findings = report.findings.filter((f) => f.sopInstanceUid === image.sopInstanceUid);
        const shown = findings.filter((f) => overlays[findingKey(f)]?.visible);
        const highlighted = highlight?.region ? findings.find((f) => findingKey(f) === highlight.findingKey) : undefined;
        const label = `Radiograph preview, image ${index + 1} of ${report.images.length}`;
        return (
          <figure className="cxr-image" key={image.sopInstanceUid} data-testid="study-image" data-sop-instance-uid={image.sopInstanceUid}>
            <div className="cxr-image-stack" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
              <img className="cxr-image-layer" src={image.previewUrl} alt={label} data-testid="image-preview" />
              {findings.map((finding) => {
                const key = findingKey(finding);
                const setting = overlays[key] ?? { visible: false, opacity: 0 };
                return (
                  <img
                    key={key}
                    className="cxr-image-layer cxr-overlay"
                    src={finding.overlayUrl}
                    alt=""
                    aria-hidden="true"
                    hidden={!setting.visible}
                    style={{ opacity: setting.opacity }}
                    data-testid="overlay-image"
                    data-code={finding.code}
                    data-visible={setting.visible ? 'true' : 'false'}
                  />
                );
              })}
              {highlighted && highlight?.region ? (
                <div
                  className="cxr-region-outline"
                  role="img"
                  aria-label={`Region supporting ${highlighted.display}`}
                  data-testid="region-outline"
                  data-code={highlighted.code}
                  style={{
                    left: `${highlight.region.x * 100}%`,
                    top: `${highlight.region.y * 100}%`,
                    width: `${highlight.region.width * 100}%`,
                    height: `${highlight.region.height * 100}%`,
                  }}
                />
              ) : null}
            </div>
            <figcaption>
              {shown.length > 0 ? `Overlays shown: ${shown.map((f) => f.display).join(', ')}` : 'No overlay shown'}
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}
