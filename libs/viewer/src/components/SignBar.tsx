import { useState } from 'react';
import type { ReportResponse } from '@cxr/contracts';
import { formatDateTime } from '../format.ts';

/**
 * Save and sign for a draft; once signed, who signed and when, the addenda, and a form for a new
 * addendum (a signed report never changes, later remarks are appended).
 */

export const SIGN_ATTESTATION = 'I have reviewed the images and every AI finding, and this report is my own.';

export interface SignBarProps {
  report: Pick<ReportResponse, 'status' | 'signed' | 'signature' | 'addenda'>;
  dirty: boolean;
  busy: boolean;
  /** Positive findings still needing accept/reject (signing is refused while any remain). */
  undecided: number;
  /** False for roles that may read but not edit. */
  canEdit?: boolean;
  onSave(): void;
  onSign(attestation: string): void;
  onAddendum(text: string): Promise<boolean>;
}

function AddendumForm({ busy, onAddendum }: Pick<SignBarProps, 'busy' | 'onAddendum'>) {
  const [text, setText] = useState('');
  return (
    <form
      className="cxr-addendum-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!text.trim()) return;
        void onAddendum(text.trim()).then((ok) => {
          if (ok) setText('');
        });
      }}
    >
      <label htmlFor="cxr-addendum-text">Addendum</label>
      <textarea id="cxr-addendum-text" rows={3} value={text} onChange={(e) => setText(e.currentTarget.value)} data-testid="addendum-text" />
      <button type="submit" className="cxr-button" disabled={busy || !text.trim()} data-testid="add-addendum">
        Add addendum
      </button>
    </form>
  );
}

export function SignBar(props: SignBarProps) {
  const { report, dirty, busy, undecided, canEdit = true } = props;
  const [attested, setAttested] = useState(false);

  if (report.signed && report.signature) {
    const { signedBy, signedAt } = report.signature;
    return (
      <section className="cxr-panel cxr-signbar cxr-signed" aria-label="Signature" data-testid="sign-bar">
        <p data-testid="signed-state" className="cxr-signed-state">
          Signed by <strong data-testid="signer-name">{signedBy.name || signedBy.sub}</strong> on{' '}
          <time dateTime={signedAt} data-testid="signed-at">
            {formatDateTime(signedAt)}
          </time>
        </p>
        {report.addenda.length > 0 ? (
          <ol className="cxr-addenda" aria-label="Addenda" data-testid="addenda">
            {report.addenda.map((a) => (
              <li key={a.revision}>
                <p>{a.text}</p>
                <p className="cxr-muted">
                  {a.author.name || a.author.sub}, <time dateTime={a.createdAt}>{formatDateTime(a.createdAt)}</time>
                </p>
              </li>
            ))}
          </ol>
        ) : null}
        {canEdit ? <AddendumForm busy={busy} onAddendum={props.onAddendum} /> : null}
      </section>
    );
  }

  if (report.status !== 'draft') return null;
  const blocked = undecided > 0;
  return (
    <section className="cxr-panel cxr-signbar" aria-label="Save and sign" data-testid="sign-bar">
      <button type="button" className="cxr-button" disabled={!canEdit || busy || !dirty} onClick={props.onSave} data-testid="save">
        Save draft
      </button>
      <label className="cxr-attest">
        <input type="checkbox" checked={attested} disabled={!canEdit} onChange={(e) => setAttested(e.currentTarget.checked)} data-testid="attest" />{' '}
        {SIGN_ATTESTATION}
      </label>
      <button
        type="button"
        className="cxr-button cxr-primary"
        disabled={!canEdit || busy || blocked || !attested}
        onClick={() => props.onSign(SIGN_ATTESTATION)}
        data-testid="sign"
      >
        {dirty ? 'Save and sign' : 'Sign report'}
      </button>
      {blocked ? (
        <p className="cxr-muted" data-testid="sign-blocked">
          Accept or reject every finding the AI reports as present before signing ({undecided} left).
        </p>
      ) : null}
    </section>
  );
}
