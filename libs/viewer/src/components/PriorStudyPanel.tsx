import type { ReportResponse } from '@cxr/contracts';
import { locationOf } from '../format.ts';

/**
 * The prior study the draft was compared with, shown beside the current images: its previews, its
 * date, and its own AI findings (positives first; what its radiologist rejected is not positive),
 * with the draft's COMPARISON sentence. Nothing when the report names no prior; a note when the
 * comparison could not be made (the sentence says why, e.g. the prior look-up timed out).
 */
export function PriorStudyPanel({ report }: { report: Pick<ReportResponse, 'priorStudy' | 'sections'> }) {
  const prior = report.priorStudy;
  const comparison = report.sections.comparison;
  if (!prior) {
    return comparison !== undefined && comparison !== 'None.' ? (
      <p className="cxr-prior-note" data-testid="prior-note">
        Comparison: {comparison}
      </p>
    ) : null;
  }
  const positives = prior.findings.filter((f) => f.positive);
  return (
    <section className="cxr-prior" data-testid="prior-study" data-study-date={prior.studyDate} aria-label={`Prior study of ${prior.studyDate}`}>
      <h2 className="cxr-prior-title">Prior study, {prior.studyDate}</h2>
      <div className="cxr-images">
        {prior.images.map((image, index) => (
          <figure className="cxr-image" key={image.sopInstanceUid} data-testid="prior-image">
            <div className="cxr-image-stack" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
              <img className="cxr-image-layer" src={image.previewUrl} alt={`Prior radiograph of ${prior.studyDate}, image ${index + 1} of ${prior.images.length}`} />
            </div>
          </figure>
        ))}
      </div>
      <h3 className="cxr-prior-subtitle">AI findings on the prior</h3>
      {positives.length === 0 ? (
        <p data-testid="prior-no-findings">No finding the AI reports as present.</p>
      ) : (
        <ul className="cxr-prior-findings">
          {positives.map((f) => (
            <li key={`${f.sopInstanceUid}/${f.code}`} data-testid="prior-finding" data-code={f.code}>
              {f.display}
              {locationOf(f) ? `, ${locationOf(f)}` : ''} ({Math.round(f.probability * 100)}% vs threshold {Math.round(f.threshold * 100)}%)
            </li>
          ))}
        </ul>
      )}
      {comparison !== undefined ? (
        <p className="cxr-prior-comparison" data-testid="prior-comparison">
          {comparison}
        </p>
      ) : null}
    </section>
  );
}
