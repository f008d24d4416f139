import type { FindingDecision, ReportFinding } from '@cxr/contracts';
import { CONFIDENCE_LABELS, locationOf, percent, probabilityVsThreshold } from '../format.ts';
import { findingKey, type Highlight, type OverlaySetting } from '../review-state.ts';

/**
 * The AI findings, positives first: what the model found, how sure it is relative to its
 * operating threshold, where, and the controls to show its overlay and record the reader's
 * decision. Negative findings are listed too (their overlays can be shown) but need no decision.
 */

export interface FindingsPanelProps {
  findings: ReportFinding[];
  decisions: Record<string, FindingDecision | null>;
  overlays: Record<string, OverlaySetting>;
  highlight: Highlight | null;
  /** Signed reports: decisions can no longer change. */
  readOnly: boolean;
  /** Several images: name the image a finding is on. */
  imageNumbers?: Record<string, number>;
  onDecide(key: string, decision: FindingDecision | null): void;
  onToggleOverlay(key: string, visible: boolean): void;
  onOpacity(key: string, opacity: number): void;
  onHighlight(highlight: Highlight | null): void;
}

const DECISION_LABELS: Record<FindingDecision, string> = { accepted: 'Accepted', rejected: 'Rejected' };

function FindingRow(props: FindingsPanelProps & { finding: ReportFinding }) {
  const { finding, decisions, overlays, highlight, readOnly, imageNumbers } = props;
  const key = findingKey(finding);
  const decision = decisions[key] ?? null;
  const overlay = overlays[key] ?? { visible: false, opacity: 0 };
  const location = locationOf(finding);
  const idBase = `cxr-finding-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const imageNumber = imageNumbers?.[finding.sopInstanceUid];
  const decide = (wanted: FindingDecision) => props.onDecide(key, decision === wanted ? null : wanted);
  return (
    <li
      className={`cxr-finding${finding.positive ? ' cxr-finding-positive' : ''}${highlight?.findingKey === key ? ' cxr-highlighted' : ''}`}
      data-testid="finding"
      data-code={finding.code}
      data-sop-instance-uid={finding.sopInstanceUid}
      data-positive={finding.positive ? 'true' : 'false'}
      data-decision={decision ?? 'none'}
      aria-labelledby={`${idBase}-title`}
      onMouseEnter={() => props.onHighlight({ findingKey: key, region: finding.region })}
      onMouseLeave={() => props.onHighlight(null)}
    >
      <div className="cxr-finding-head">
        <h3 id={`${idBase}-title`} className="cxr-finding-title">
          {finding.display}
          {imageNumber !== undefined ? <span className="cxr-muted"> (image {imageNumber})</span> : null}
        </h3>
        <span className={`cxr-badge ${finding.positive ? 'cxr-badge-positive' : 'cxr-badge-negative'}`}>
          {finding.positive ? 'AI: present' : 'AI: not detected'}
        </span>
      </div>
      <dl className="cxr-finding-facts">
        <div>
          <dt>Probability</dt>
          <dd data-testid="finding-probability">
            {probabilityVsThreshold(finding)}
            <span className="cxr-probability-bar" aria-hidden="true">
              <span className="cxr-probability-fill" style={{ width: percent(finding.probability) }} />
              <span className="cxr-probability-threshold" style={{ left: percent(finding.threshold) }} />
            </span>
          </dd>
        </div>
        <div>
          <dt>Confidence</dt>
          <dd data-testid="finding-confidence">{CONFIDENCE_LABELS[finding.confidence]}</dd>
        </div>
        {location ? (
          <div>
            <dt>Location</dt>
            <dd data-testid="finding-location">{location}</dd>
          </div>
        ) : null}
        {finding.coding ? (
          <div>
            <dt>Code</dt>
            <dd title={finding.coding.system}>
              {finding.coding.code} {finding.coding.display}
            </dd>
          </div>
        ) : null}
      </dl>
      <div className="cxr-overlay-controls">
        <label>
          <input
            type="checkbox"
            checked={overlay.visible}
            onChange={(event) => props.onToggleOverlay(key, event.currentTarget.checked)}
            data-testid="overlay-toggle"
          />{' '}
          Show heatmap overlay
        </label>
        <label htmlFor={`${idBase}-opacity`} className="cxr-opacity-label">
          Opacity <output htmlFor={`${idBase}-opacity`} data-testid="overlay-opacity-value">{percent(overlay.opacity)}</output>
        </label>
        <input
          id={`${idBase}-opacity`}
          type="range"
          min={0}
          max={100}
          step={5}
          value={Math.round(overlay.opacity * 100)}
          disabled={!overlay.visible}
          onChange={(event) => props.onOpacity(key, Number(event.currentTarget.value) / 100)}
          data-testid="overlay-opacity"
        />
      </div>
      {finding.positive ? (
        <div className="cxr-decision" role="group" aria-label={`Your decision on ${finding.display}`}>
          <button
            type="button"
            className="cxr-button cxr-accept"
            aria-pressed={decision === 'accepted'}
            disabled={readOnly}
            onClick={() => decide('accepted')}
            data-testid="accept"
          >
            Accept
          </button>
          <button
            type="button"
            className="cxr-button cxr-reject"
            aria-pressed={decision === 'rejected'}
            disabled={readOnly}
            onClick={() => decide('rejected')}
            data-testid="reject"
          >
            Reject
          </button>
          <span className="cxr-decision-state" data-testid="decision-state">
            {decision ? DECISION_LABELS[decision] : 'Needs your decision'}
          </span>
        </div>
      ) : null}
    </li>
  );
}

export function FindingsPanel(props: FindingsPanelProps) {
  const positives = props.findings.filter((f) => f.positive);
  const negatives = props.findings.filter((f) => !f.positive);
  return (
    <section className="cxr-panel cxr-findings" aria-labelledby="cxr-findings-heading" data-testid="findings-panel">
      <h2 id="cxr-findings-heading">AI findings</h2>
      {props.findings.length === 0 ? <p className="cxr-empty">The AI reported no findings for this study.</p> : null}
      {positives.length > 0 ? (
        <ul className="cxr-finding-list" aria-label="Findings the AI reports as present">
          {positives.map((finding) => (
            <FindingRow key={findingKey(finding)} {...props} finding={finding} />
          ))}
        </ul>
      ) : props.findings.length > 0 ? (
        <p className="cxr-empty">No finding above its threshold.</p>
      ) : null}
      {negatives.length > 0 ? (
        <details className="cxr-negatives">
          <summary>Findings below threshold ({negatives.length})</summary>
          <ul className="cxr-finding-list" aria-label="Findings the AI did not detect">
            {negatives.map((finding) => (
              <FindingRow key={findingKey(finding)} {...props} finding={finding} />
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
