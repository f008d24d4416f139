import {
  AI_ASSISTED_SIGNED_NOTICE,
  AI_DRAFT_DISCLAIMER,
  type Addendum,
  type OutOfScopeImage,
  type PriorStudyView,
  type ReportFinding,
  type ReportImage,
  type ReportResponse,
  type RevisionResponse,
  type RevisionSummary,
} from '@cxr/contracts';
import { groundSentences } from '../drafts/grounding.ts';
import type { DraftFinding } from '../drafts/report-draft.ts';
import { reportStatusOf, type ReceivedImage, type ReportRevision, type ReportState, type RevisionRef, type StoredSignature } from '../state/report-state.ts';

/**
 * Builds the bodies the review API sends from stored state and revisions. Pure: URL signing and
 * the ETag come in as arguments. Joins the SOP Instance UIDs (from study-received) into the
 * pseudonymous draft, and makes absolute, signed image URLs.
 */

export type SignUrl = (pathWithQuery: string) => { url: string; expiresAt: string };
export type FindingImageKind = 'overlay' | 'heatmap';

export function findingImagePath(studyInstanceUid: string, code: string, sopInstanceUid: string, kind: FindingImageKind): string {
  // Several images of a study carry the same finding codes: the query picks the image.
  return `/api/studies/${studyInstanceUid}/report/findings/${encodeURIComponent(code)}/${kind}.png?sopInstanceUid=${sopInstanceUid}`;
}

export function previewImagePath(studyInstanceUid: string, sopInstanceUid: string): string {
  return `/api/studies/${studyInstanceUid}/images/${sopInstanceUid}/preview.png`;
}

export type FindingWithUid = DraftFinding & { sopInstanceUid: string };

/** The revision's findings with their image's SOP Instance UID; findings of unknown images are left out. */
export function findingsWithUids(state: ReportState, revision: ReportRevision): FindingWithUid[] {
  const uids = new Map(state.images.map((image) => [image.instanceKey, image.sopInstanceUid]));
  return revision.draft.findings.flatMap((finding) => {
    const sopInstanceUid = uids.get(finding.instanceKey);
    return sopInstanceUid ? [{ ...finding, sopInstanceUid }] : [];
  });
}

/** The images the revision's findings are on, in the draft's order. */
export function imagesOf(state: ReportState, revision: ReportRevision): ReceivedImage[] {
  const byKey = new Map(state.images.map((image) => [image.instanceKey, image]));
  const keys = [...new Set(revision.draft.findings.map((f) => f.instanceKey))];
  return keys.flatMap((key) => {
    const image = byKey.get(key);
    return image ? [image] : [];
  });
}

export function disclaimerOf(signature: StoredSignature | null): string {
  return signature ? `${AI_ASSISTED_SIGNED_NOTICE} ${signature.signedBy.name}.` : AI_DRAFT_DISCLAIMER;
}

/** The plain-text report: the disclaimer line, INDICATION and COMPARISON (when there are), FINDINGS, IMPRESSION, then any addenda. */
export function reportText(disclaimer: string, sections: { findings: string; impression: string; indication?: string | undefined; comparison?: string | undefined }, addenda: Addendum[]): string {
  const parts = [
    disclaimer,
    ...(sections.indication !== undefined ? [`INDICATION:\n${sections.indication}`] : []),
    ...(sections.comparison !== undefined ? [`COMPARISON:\n${sections.comparison}`] : []),
    `FINDINGS:\n${sections.findings}`,
    `IMPRESSION:\n${sections.impression}`,
  ];
  for (const addendum of addenda) parts.push(`ADDENDUM (${addendum.createdAt}, ${addendum.author.name}):\n${addendum.text}`);
  return parts.join('\n\n');
}

export interface ReportResponseInput {
  state: ReportState;
  studyInstanceUid: string;
  /** The revision the report shows (`shownRevisionOf`), or null. */
  shown: ReportRevision | null;
  /** The current revision, also when it is not shown (an out-of-scope study's draft lists the refused images). */
  current?: ReportRevision | null;
  /** The prior study to show beside it (its state and current revision), or null. */
  prior?: PriorShown | null;
  etag: string;
  publicUrl: string;
  signUrl: SignUrl;
}

export interface PriorShown {
  state: ReportState;
  revision: ReportRevision;
  /** `YYYY-MM-DD`. */
  studyDate: string;
}

export function buildReportResponse(input: ReportResponseInput): ReportResponse {
  const { state, studyInstanceUid, shown, etag, publicUrl, signUrl } = input;
  const { status, reason } = reportStatusOf(state);
  let urlsExpireAt: string | null = null;
  const sign = (path: string): string => {
    const signed = signUrl(path);
    urlsExpireAt = urlsExpireAt === null || signed.expiresAt < urlsExpireAt ? signed.expiresAt : urlsExpireAt;
    return `${publicUrl}${signed.url}`;
  };

  const decisions = new Map(shown?.decisions.map((d) => [`${d.instanceKey}/${d.code}`, d.decision]));
  const withUids = shown ? findingsWithUids(state, shown) : [];
  const findings: ReportFinding[] = withUids.map((f) => ({
    code: f.code,
    display: f.display,
    coding: f.coding,
    probability: f.probability,
    threshold: f.threshold,
    positive: f.positive,
    confidence: f.confidence,
    side: f.side,
    zone: f.zone,
    region: f.region,
    sopInstanceUid: f.sopInstanceUid,
    decision: decisions.get(`${f.instanceKey}/${f.code}`) ?? null,
    overlayUrl: sign(findingImagePath(studyInstanceUid, f.code, f.sopInstanceUid, 'overlay')),
    heatmapUrl: sign(findingImagePath(studyInstanceUid, f.code, f.sopInstanceUid, 'heatmap')),
    peak: { ...f.peak },
  }));
  const images: ReportImage[] = shown
    ? imagesOf(state, shown).map((image) => ({
        sopInstanceUid: image.sopInstanceUid,
        width: image.width,
        height: image.height,
        previewUrl: sign(previewImagePath(studyInstanceUid, image.sopInstanceUid)),
      }))
    : [];

  const outOfScopeImages = outOfScopeImagesOf(state, input.current ?? shown);
  const signature = shown?.signature ?? null;
  const disclaimer = disclaimerOf(signature);
  const addenda = shown?.addenda ?? [];
  const sections = shown ? { ...shown.sections } : { findings: '', impression: '' };
  return {
    studyInstanceUid,
    status,
    statusReason: reason,
    aiGenerated: true,
    signed: signature !== null,
    edited: shown?.edited ?? false,
    disclaimer,
    priority: state.identity?.priority ?? 'routine',
    ...(state.identity?.role ? { role: state.identity.role } : {}),
    analysisVersion: shown?.analysisVersion ?? state.version,
    revision: shown?.revision ?? 0,
    revisionKind: shown?.kind ?? null,
    etag,
    model: shown ? { id: shown.draft.model.id, version: shown.draft.model.version, sha256: shown.draft.model.sha256 } : null,
    text: shown ? reportText(disclaimer, sections, addenda) : '',
    sections,
    // What the consistency checks changed in the model's text: provenance of the AI draft, so it
    // stays with the report after a radiologist's edits. Drafts composed before the checks have none.
    ...(shown?.draft.textEdits ? { textEdits: shown.draft.textEdits.map((edit) => ({ ...edit })) } : {}),
    sentences: shown
      ? groundSentences(
          sections,
          withUids.map((f) => ({
            code: f.code,
            display: f.display,
            sopInstanceUid: f.sopInstanceUid,
            // A finding the radiologist rejected no longer supports any sentence.
            positive: f.positive && decisions.get(`${f.instanceKey}/${f.code}`) !== 'rejected',
            side: f.side,
            zone: f.zone,
            region: f.region,
            probability: f.probability,
          })),
        )
      : [],
    images,
    findings,
    outOfScopeImages,
    signature: signature ? { signedBy: signature.signedBy, signedAt: signature.signedAt, revision: signature.revision } : null,
    addenda: addenda.map((a) => ({ ...a })),
    ...(input.prior !== undefined ? { priorStudy: input.prior ? priorStudyView(input.prior, sign) : null } : {}),
    urlsExpireAt,
    updatedAt: state.updatedAt,
  };
}

/** The prior beside the current study: its previews (signed like the current ones) and its findings, rejected ones negative. */
function priorStudyView({ state, revision, studyDate }: PriorShown, sign: (path: string) => string): PriorStudyView {
  const uid = state.identity!.studyInstanceUid;
  const rejected = new Set(revision.decisions.filter((d) => d.decision === 'rejected').map((d) => `${d.instanceKey}/${d.code}`));
  return {
    studyInstanceUid: uid,
    studyDate,
    images: imagesOf(state, revision).map((image) => ({ sopInstanceUid: image.sopInstanceUid, width: image.width, height: image.height, previewUrl: sign(previewImagePath(uid, image.sopInstanceUid)) })),
    findings: findingsWithUids(state, revision).map((f) => ({
      code: f.code, display: f.display, probability: f.probability, threshold: f.threshold,
      positive: f.positive && !rejected.has(`${f.instanceKey}/${f.code}`), side: f.side, zone: f.zone, sopInstanceUid: f.sopInstanceUid,
    })),
  };
}

/** The images the draft's model refused as outside its scope, by SOP Instance UID. */
function outOfScopeImagesOf(state: ReportState, revision: ReportRevision | null): OutOfScopeImage[] {
  if (!revision) return [];
  const uids = new Map(state.images.map((image) => [image.instanceKey, image.sopInstanceUid]));
  return revision.draft.outOfScope.flatMap((o) => {
    const sopInstanceUid = uids.get(o.instanceKey);
    return sopInstanceUid ? [{ sopInstanceUid, check: o.check, reason: o.reason, score: o.score, limit: o.limit }] : [];
  });
}

export function revisionSummaryOf(ref: RevisionRef): RevisionSummary {
  return { revision: ref.revision, kind: ref.kind, createdAt: ref.createdAt, author: ref.author, basedOn: ref.basedOn, analysisVersion: ref.analysisVersion };
}

export function buildRevisionResponse(state: ReportState, studyInstanceUid: string, revision: ReportRevision): RevisionResponse {
  const uids = new Map(state.images.map((image) => [image.instanceKey, image.sopInstanceUid]));
  return {
    ...revisionSummaryOf(revision),
    studyInstanceUid,
    current: state.current === revision.revision,
    edited: revision.edited,
    sections: { ...revision.sections },
    decisions: revision.decisions.flatMap((d) => {
      const sopInstanceUid = uids.get(d.instanceKey);
      return sopInstanceUid ? [{ code: d.code, sopInstanceUid, decision: d.decision }] : [];
    }),
    signature: revision.signature ? { signedBy: revision.signature.signedBy, signedAt: revision.signature.signedAt, revision: revision.signature.revision } : null,
    addenda: revision.addenda.map((a) => ({ ...a })),
  };
}
