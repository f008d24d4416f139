import type { GroundedSentence, ReportFinding, ReportResponse, TextEdit } from '@cxr/contracts';
import { formatDateTime } from '../format.ts';
import { findingKey, type Highlight } from '../review-state.ts';

/**
 * The clinical question from the order (Indication, read-only: it is the requester's, not the
 * reader's), then the draft text (Findings and Impression) under a banner that says plainly what it is: an
 * unreviewed AI draft from a reference model trained on synthetic images. Below the editor, the
 * saved text's sentences that name a finding; pointing at one outlines the finding's region.
 * Where the consistency checks changed the model's text before it became the draft, a note says
 * so and lists each change (a native <details>: expandable without script state).
 */

export const AI_DRAFT_BANNER_TITLE = 'AI-generated draft — not reviewed or signed';
export const AI_DRAFT_BANNER_DETAIL = 'Reference model trained on synthetic images, not for clinical use.';

export function AiDraftBanner({ report }: { report: Pick<ReportResponse, 'signed' | 'disclaimer' | 'model' | 'signature'> }) {
  const model = report.model ? `${report.model.id} ${report.model.version}` : 'unknown model';
  if (report.signed) {
    return (
      <section className="cxr-banner cxr-banner-signed" aria-label="Report origin" data-testid="signed-banner">
        <p>
          {report.disclaimer}
          {report.signature && !report.disclaimer.includes(report.signature.signedBy.name) ? ` ${report.signature.signedBy.name}` : ''}
        </p>
        <p className="cxr-muted">Model: {model}</p>
      </section>
    );
  }
  return (
    <section className="cxr-banner cxr-banner-draft" role="note" aria-label="AI draft warning" data-testid="ai-draft-banner">
      <p className="cxr-banner-title">{AI_DRAFT_BANNER_TITLE}</p>
      <p>{AI_DRAFT_BANNER_DETAIL}</p>
      <p className="cxr-muted" data-testid="model-id">
        Model: {model}
        {report.model ? <span title={`sha256 ${report.model.sha256}`}> (sha256 {report.model.sha256.slice(0, 12)}…)</span> : null}
      </p>
    </section>
  );
}

export const TEXT_EDITS_NOTE = 'Edited by consistency checks';

const TEXT_RULE_LABELS: Record<TextEdit['rule'], string> = {
  'incomplete-text': 'cut-off text removed',
  malformed: 'malformed sentence',
  'asserts-negative': 'states a finding the model calls negative',
  'negates-positive': 'negates a finding the model calls positive',
  'unmeasured-size': 'unmeasured size removed',
  'measured-size': 'size replaced by the measured one',
  'restated-finding': 'finding stated twice',
  'disagrees-with-findings': 'impression places a finding elsewhere than the findings',
  repeated: 'repeated sentence',
  'missing-positive': 'positive finding added',
  'normal-impression': 'normal-study impression',
  'answers-question': 'answers the clinical question',
};

/** The changes the consistency checks made to the model's text; nothing when there were none. */
export function TextEditsNote({ edits }: { edits: readonly TextEdit[] | undefined }) {
  if (!edits || edits.length === 0) return null;
  return (
    <details className="cxr-text-edits" data-testid="text-edits">
      <summary>
        {TEXT_EDITS_NOTE} ({edits.length} {edits.length === 1 ? 'change' : 'changes'} to the model&apos;s text)
      </summary>
      <ul>
        {edits.map((edit, i) => (
          <li key={i} data-testid="text-edit" data-rule={edit.rule}>
            <span className="cxr-sentence-section">{edit.section === 'findings' ? 'Findings' : 'Impression'}, {TEXT_RULE_LABELS[edit.rule]}:</span>{' '}
            {edit.original !== null ? <del>{edit.original}</del> : null}
            {edit.original !== null && edit.replacement !== null ? ' → ' : null}
            {edit.replacement !== null ? <ins>{edit.replacement}</ins> : null}
            {edit.detail ? <span className="cxr-muted"> ({edit.detail})</span> : null}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The order's clinical question, as ingest read it (scrubbed of identifiers); nothing when the order gave none. */
export function Indication({ text }: { text: string | undefined }) {
  if (text === undefined || text.trim() === '') return null;
  return (
    <section className="cxr-indication" aria-labelledby="cxr-indication-heading" data-testid="indication">
      <h3 id="cxr-indication-heading">Indication</h3>
      <p data-testid="indication-text">{text}</p>
    </section>
  );
}

export interface ReportEditorProps {
  report: ReportResponse;
  sections: { findings: string; impression: string; comparison?: string };
  readOnly: boolean;
  dirty: boolean;
  highlight: Highlight | null;
  onEdit(section: 'findings' | 'impression' | 'comparison', text: string): void;
  onHighlight(highlight: Highlight | null): void;
}

function sentenceHighlight(sentence: GroundedSentence): Highlight | null {
  return sentence.finding ? { findingKey: findingKey(sentence.finding), region: sentence.finding.region } : null;
}

function GroundedSentences({ report, highlight, onHighlight, stale }: Pick<ReportEditorProps, 'report' | 'highlight' | 'onHighlight'> & { stale: boolean }) {
  const grounded = report.sentences.filter((s) => s.finding);
  if (grounded.length === 0) return null;
  const displays = new Map(report.findings.map((f: ReportFinding) => [findingKey(f), f.display]));
  return (
    <section className="cxr-grounding" aria-labelledby="cxr-grounding-heading">
      <h3 id="cxr-grounding-heading">Sentences and their evidence</h3>
      <p className="cxr-muted">
        Point at or select a sentence to outline the image region that supports it.
        {stale ? ' These follow the last saved text.' : ''}
      </p>
      <ul className="cxr-sentences">
        {grounded.map((sentence) => {
          const h = sentenceHighlight(sentence)!;
          const active = highlight?.findingKey === h.findingKey;
          return (
            <li key={`${sentence.section}-${sentence.start}`}>
              <button
                type="button"
                className={`cxr-sentence${active ? ' cxr-highlighted' : ''}`}
                aria-pressed={active}
                title={`Supported by ${displays.get(h.findingKey) ?? sentence.finding!.code}`}
                data-testid="grounded-sentence"
                data-code={sentence.finding!.code}
                onMouseEnter={() => onHighlight(h)}
                onMouseLeave={() => onHighlight(null)}
                onFocus={() => onHighlight(h)}
                onBlur={() => onHighlight(null)}
                onClick={() => onHighlight(active ? null : h)}
              >
                <span className="cxr-sentence-section">{sentence.section === 'findings' ? 'Findings' : 'Impression'}:</span> {sentence.text}
              </button>
              {sentence.conflict ? (
                <p className="cxr-sentence-conflict" role="note" data-testid="sentence-conflict">
                  <span aria-hidden="true">⚠ </span>
                  {sentence.conflict} Check the image before accepting.
                </p>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function ReportEditor(props: ReportEditorProps) {
  const { report, sections, readOnly, dirty } = props;
  return (
    <section className="cxr-panel cxr-editor" aria-labelledby="cxr-editor-heading" data-testid="report-editor">
      <h2 id="cxr-editor-heading">Report</h2>
      <AiDraftBanner report={report} />
      <p className="cxr-muted" data-testid="report-revision">
        Revision {report.revision}
        {report.edited ? ', edited' : ''} · updated <time dateTime={report.updatedAt}>{formatDateTime(report.updatedAt)}</time>
        {dirty ? <strong className="cxr-unsaved"> · unsaved changes</strong> : null}
      </p>
      <TextEditsNote edits={report.textEdits} />
      <Indication text={report.sections.indication} />
      {sections.comparison !== undefined ? (
        <>
          {/* The AI's comparison with the prior is part of what is signed, so it is edited like the rest. */}
          <label htmlFor="cxr-comparison-text">Comparison</label>
          <textarea
            id="cxr-comparison-text"
            rows={2}
            value={sections.comparison}
            readOnly={readOnly}
            onChange={(event) => props.onEdit('comparison', event.currentTarget.value)}
            data-testid="comparison-text"
          />
        </>
      ) : null}
      <label htmlFor="cxr-findings-text">Findings</label>
      <textarea
        id="cxr-findings-text"
        rows={7}
        value={sections.findings}
        readOnly={readOnly}
        onChange={(event) => props.onEdit('findings', event.currentTarget.value)}
        data-testid="findings-text"
      />
      <label htmlFor="cxr-impression-text">Impression</label>
      <textarea
        id="cxr-impression-text"
        rows={4}
        value={sections.impression}
        readOnly={readOnly}
        onChange={(event) => props.onEdit('impression', event.currentTarget.value)}
        data-testid="impression-text"
      />
      <GroundedSentences report={report} highlight={props.highlight} onHighlight={props.onHighlight} stale={dirty} />
    </section>
  );
}
