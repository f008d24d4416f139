import {
  dicomUidSchema,
  objectKeys,
  reportResponseSchema,
  type Actor,
  type AuditAction,
  type AuditEntry,
  type AuditTrailResponse,
  type ReportAddendumRequest,
  type ReportEditRequest,
  type ReportResponse,
  type ReportSignRequest,
  type RevisionListResponse,
  type RevisionResponse,
} from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import { applyAddendum, applyEdit, applySign, type ReviewContext, type ReviewRefusal, type ReviewResult } from '../state/review-transitions.ts';
import { reportStatusOf, shownRevisionOf, type ReportRevision, type ReportState } from '../state/report-state.ts';
import type { ReportStore } from '../state/report-store.ts';
import { checkIfMatch, ifMatchTags, reportEtag } from './etag.ts';
import { buildReportResponse, buildRevisionResponse, findingsWithUids, revisionSummaryOf, type FindingImageKind, type PriorShown, type SignUrl } from './report-view.ts';

/**
 * The review use-cases: read, edit, sign, add an addendum, list revisions and the audit trail.
 * HTTP-shaped errors (HttpError) come out of here, since every caller is an HTTP route; routes
 * only parse requests and send what comes back.
 *
 * Every change runs under the study's lock and checks If-Match against the *stored* state (not
 * the Redis index), then commits the revision, its audit entry and the state together
 * (`ReportStore.commit`, which says in what order and why).
 */

export interface ReportServiceDeps {
  reports: ReportStore;
  /** Signs image URLs for the report body (`HttpAuth.signUrl`). */
  signUrl: SignUrl;
  /** Base of absolute URLs, without a trailing slash. */
  publicUrl: string;
  buckets: { derived: string; reports: string };
  now?: () => Date;
}

export interface ReportView {
  response: ReportResponse;
  studyKey: string;
}

/** Where an image the report links to is stored. */
export interface StoredImage {
  bucket: string;
  key: string;
  /**
   * Set when the image is a finding's heatmap held inline in the analysis result JSON at `key`
   * (analyses written since heatmaps were inlined): which image's finding to take out of it.
   */
  inResult?: { instanceKey: string; code: string };
}

export interface ReportService {
  /** The report as the API shows it, and the study's key (for `recordAudit`). Does not audit. */
  loadReportView(studyInstanceUid: string): Promise<ReportView>;
  /** Appends an entry to the study's audit trail (exports call this). */
  recordAudit(studyKey: string, entry: AuditEntry): Promise<void>;
  /** The report, with a `view` audit entry for `actor`. */
  viewReport(studyInstanceUid: string, actor: Actor): Promise<ReportResponse>;
  editReport(studyInstanceUid: string, ifMatch: string | undefined, edit: ReportEditRequest, actor: Actor): Promise<ReportResponse>;
  signReport(studyInstanceUid: string, ifMatch: string | undefined, request: ReportSignRequest, actor: Actor): Promise<ReportResponse>;
  addAddendum(studyInstanceUid: string, ifMatch: string | undefined, request: ReportAddendumRequest, actor: Actor): Promise<ReportResponse>;
  auditTrail(studyInstanceUid: string): Promise<AuditTrailResponse>;
  listRevisions(studyInstanceUid: string): Promise<RevisionListResponse>;
  getRevision(studyInstanceUid: string, revision: number): Promise<RevisionResponse>;
  /** An overlay or heatmap of a finding of the report shown now; `sopInstanceUid` may be left out when one image has it. */
  findingImage(studyInstanceUid: string, code: string, sopInstanceUid: string | undefined, kind: FindingImageKind): Promise<StoredImage>;
  previewImage(studyInstanceUid: string, sopInstanceUid: string): Promise<StoredImage>;
}

/** 412 with the report's current tag (the route sends it as the ETag header). */
export class PreconditionFailedError extends HttpError {
  constructor(readonly etag: string) {
    super(412, 'precondition-failed', 'the report changed since it was read (If-Match does not match its ETag): reload it and reapply the change');
    this.name = 'PreconditionFailedError';
  }
}

interface Loaded {
  state: ReportState;
  shown: ReportRevision | null;
  /** The current revision when it is not shown (an out-of-scope study: its draft lists the refused images). */
  current?: ReportRevision | null;
  /** The prior study shown beside this one (the one the COMPARISON was made with). */
  prior?: PriorShown | null;
}

export function createReportService(deps: ReportServiceDeps): ReportService {
  const { reports, signUrl, publicUrl, buckets } = deps;
  const now = deps.now ?? (() => new Date());

  async function studyKeyOf(studyInstanceUid: string): Promise<string> {
    if (!dicomUidSchema.safeParse(studyInstanceUid).success) {
      throw new HttpError(400, 'invalid-study-instance-uid', 'the study instance UID is not a valid DICOM UID');
    }
    const entry = await reports.lookup(studyInstanceUid);
    if (!entry) throw notFound();
    return entry.studyKey;
  }

  async function load(studyInstanceUid: string, studyKey: string): Promise<Loaded> {
    const state = await reports.readState(studyKey);
    // An index entry without its state object (the index is ahead of a wiped bucket): unknown.
    if (!state || state.identity?.studyInstanceUid !== studyInstanceUid) throw notFound();
    const prior = await priorOf(state);
    const shownNumber = shownRevisionOf(state);
    if (shownNumber !== null) return { state, shown: await reports.readRevision(studyKey, shownNumber), prior };
    const outOfScope = reportStatusOf(state).status === 'out-of-scope' && state.current !== null;
    return { state, shown: null, current: outOfScope ? await reports.readRevision(studyKey, state.current!) : null, prior };
  }

  /** The most recent prior (as ingest listed them) that has a report: the one the COMPARISON used. */
  async function priorOf(state: ReportState): Promise<PriorShown | null> {
    for (const prior of state.received?.priors?.priors ?? []) {
      const priorState = await reports.readState(prior.studyKey);
      if (!priorState?.identity || priorState.current === null) continue;
      return { state: priorState, revision: await reports.readRevision(prior.studyKey, priorState.current), studyDate: prior.studyDate };
    }
    return null;
  }

  function respond(studyInstanceUid: string, { state, shown, current, prior }: Loaded): ReportResponse {
    // Parsing what we send keeps the service honest to the contract.
    return reportResponseSchema.parse(buildReportResponse({ state, studyInstanceUid, shown, current: current ?? null, prior: prior ?? null, etag: reportEtag(state), publicUrl, signUrl }));
  }

  /** The shared path of every change: lock, precondition, transition, then revision, audit, state. */
  async function change(
    studyInstanceUid: string,
    ifMatch: string | undefined,
    actor: Actor,
    transition: (context: ReviewContext) => ReviewResult,
    describe: (before: ReportRevision | null, after: ReportRevision) => { action: AuditAction; detail: string },
  ): Promise<ReportResponse> {
    const studyKey = await studyKeyOf(studyInstanceUid);
    if (ifMatchTags(ifMatch).length === 0) {
      throw new HttpError(428, 'precondition-required', 'send the ETag of the report you read in If-Match');
    }
    return reports.withStudyLock(studyKey, async () => {
      const loaded = await load(studyInstanceUid, studyKey);
      const etag = reportEtag(loaded.state);
      if (checkIfMatch(ifMatch, etag) !== 'match') throw new PreconditionFailedError(etag);
      const at = now().toISOString();
      const result = transition({
        state: loaded.state,
        shown: loaded.shown,
        revisionNumber: await reports.nextRevisionNumber(loaded.state, studyKey),
        author: actor,
        now: at,
      });
      if (!result.ok) throw refusalError(result);
      await reports.commit({
        revision: result.revision,
        audit: { at, actor, revision: result.revision.revision, ...describe(loaded.shown, result.revision) },
        state: result.state,
      });
      return respond(studyInstanceUid, { state: result.state, shown: result.revision });
    });
  }

  async function loadByUid(studyInstanceUid: string): Promise<Loaded & { studyKey: string }> {
    const studyKey = await studyKeyOf(studyInstanceUid);
    return { studyKey, ...(await load(studyInstanceUid, studyKey)) };
  }

  return {
    async loadReportView(studyInstanceUid) {
      const loaded = await loadByUid(studyInstanceUid);
      return { response: respond(studyInstanceUid, loaded), studyKey: loaded.studyKey };
    },

    recordAudit: (studyKey, entry) => reports.appendAudit(studyKey, entry),

    async viewReport(studyInstanceUid, actor) {
      const loaded = await loadByUid(studyInstanceUid);
      const response = respond(studyInstanceUid, loaded);
      // No view without its audit entry: a failed write fails the request.
      await reports.appendAudit(loaded.studyKey, {
        at: now().toISOString(),
        actor,
        action: 'view',
        revision: response.revision,
        detail: `viewed ${response.status} report${response.revision > 0 ? ` at revision ${response.revision}` : ''}`,
      });
      return response;
    },

    editReport: (studyInstanceUid, ifMatch, edit, actor) =>
      change(studyInstanceUid, ifMatch, actor, (context) => applyEdit(context, edit), (before, after) => ({ action: 'edit', detail: describeEdit(before, after) })),

    signReport: (studyInstanceUid, ifMatch, request, actor) =>
      change(
        studyInstanceUid,
        ifMatch,
        actor,
        (context) => applySign(context, request),
        (before) => ({ action: 'sign', detail: `signed revision ${before?.revision ?? 0}${request.attestation ? ' with an attestation' : ''}` }),
      ),

    addAddendum: (studyInstanceUid, ifMatch, request, actor) =>
      change(
        studyInstanceUid,
        ifMatch,
        actor,
        (context) => applyAddendum(context, request.text),
        () => ({ action: 'addendum', detail: `addendum of ${request.text.length} characters` }),
      ),

    async auditTrail(studyInstanceUid) {
      const { studyKey } = await loadByUid(studyInstanceUid);
      return { studyInstanceUid, entries: await reports.readAudit(studyKey) };
    },

    async listRevisions(studyInstanceUid) {
      const { state } = await loadByUid(studyInstanceUid);
      return { studyInstanceUid, revisions: [...state.revisions].sort((a, b) => a.revision - b.revision).map(revisionSummaryOf) };
    },

    async getRevision(studyInstanceUid, revision) {
      const { state, studyKey } = await loadByUid(studyInstanceUid);
      // Only revisions the report names (not one left behind by a failed update).
      if (!state.revisions.some((ref) => ref.revision === revision)) throw new HttpError(404, 'revision-not-found', 'the report has no such revision');
      return buildRevisionResponse(state, studyInstanceUid, await reports.readRevision(studyKey, revision));
    },

    async findingImage(studyInstanceUid, code, sopInstanceUid, kind) {
      const { state, shown } = await loadByUid(studyInstanceUid);
      const matches = shown
        ? findingsWithUids(state, shown).filter((f) => f.code === code && (sopInstanceUid === undefined || f.sopInstanceUid === sopInstanceUid))
        : [];
      if (matches.length === 0) throw new HttpError(404, 'finding-not-found', 'the report has no such finding');
      if (matches.length > 1) throw new HttpError(400, 'sop-instance-uid-required', 'several images have this finding: add ?sopInstanceUid=');
      const finding = matches[0]!;
      if (kind === 'overlay') return { bucket: buckets.reports, key: finding.overlayKey };
      if (finding.heatmapKey) return { bucket: buckets.derived, key: finding.heatmapKey }; // stored apart (older analyses)
      return {
        bucket: buckets.derived,
        key: objectKeys.analysisResult(shown!.draft.studyKey, shown!.draft.version),
        inResult: { instanceKey: finding.instanceKey, code: finding.code },
      };
    },

    async previewImage(studyInstanceUid, sopInstanceUid) {
      const { state } = await loadByUid(studyInstanceUid);
      const image = state.images.find((i) => i.sopInstanceUid === sopInstanceUid);
      if (!image) throw new HttpError(404, 'image-not-found', 'the study has no such analysed image');
      return { bucket: buckets.derived, key: image.previewKey };
    },
  };
}

function notFound(): HttpError {
  return new HttpError(404, 'study-not-found', 'no report is known for this study');
}

function refusalError(refusal: ReviewRefusal): HttpError {
  const list = (findings: Array<{ code: string; sopInstanceUid: string }>): string => findings.map((f) => `${f.code} (image ${f.sopInstanceUid})`).join(', ');
  switch (refusal.refusal) {
    case 'no-draft':
      return new HttpError(409, 'no-draft', 'the study has no draft report to change yet');
    case 'signed':
      return new HttpError(409, 'report-signed', 'the report is signed and cannot change: add an addendum instead');
    case 'not-signed':
      return new HttpError(409, 'report-not-signed', 'addenda are for signed reports: edit the draft instead');
    case 'unknown-findings':
      return new HttpError(400, 'unknown-finding', `the report has no such finding: ${list(refusal.findings)}`);
    case 'undecided-findings':
      return new HttpError(422, 'undecided-findings', `accept or reject every positive AI finding before signing; undecided: ${list(refusal.findings)}`);
  }
}

/** What an edit changed, in words without identifiers (codes only). */
function describeEdit(before: ReportRevision | null, after: ReportRevision): string {
  const parts: string[] = [];
  const changedSections = (['indication', 'comparison', 'findings', 'impression'] as const).filter((s) => before?.sections[s] !== after.sections[s]);
  parts.push(changedSections.length > 0 ? `text changed: ${changedSections.join(', ')}` : 'text unchanged');
  const old = new Map(before?.decisions.map((d) => [`${d.instanceKey}/${d.code}`, d.decision]));
  const now = new Map(after.decisions.map((d) => [`${d.instanceKey}/${d.code}`, d.decision]));
  const decisionChanges: string[] = [];
  for (const finding of after.draft.findings) {
    const key = `${finding.instanceKey}/${finding.code}`;
    if (old.get(key) !== now.get(key)) decisionChanges.push(`${finding.code} ${now.get(key) ?? 'undecided'}`);
  }
  if (decisionChanges.length > 0) parts.push(`decisions: ${decisionChanges.join(', ')}`);
  return parts.join('; ').slice(0, 2000);
}
