import type { Queue } from 'bullmq';
import { parseInstance, type IsolatedFrameDecoder } from '@cxr/dicom';
import {
  ANALYSIS_INPUT_CONTENT_TYPE, QUEUES, analysisIdOf, objectKeys,
  type AnalysisRequest, type PriorLookup, type ReportEvent, type StudyPriority, type StudyReceivedEvent,
} from '@cxr/contracts';
import { ACCESSION_KEY_PATTERN, errorMessage, isPermanent, publishJob, withSpan, type Logger, type ObjectStore } from '@cxr/platform';
import { prepareAnalysisImage } from '../pixels/analysis-image.ts';
import type { PriorFinder } from '../priors/prior-finder.ts';
import { decideEligibility, type ModelScopeSource } from './eligibility.ts';
import { joinIndication } from './study-indication.ts';
import { fingerprintOf, type InstanceRecord, type StudyRegistry } from './study-registry.ts';

export interface StudyProcessorDeps {
  registry: StudyRegistry;
  objects: ObjectStore;
  buckets: { originals: string; derived: string };
  analysisQueue: Queue<AnalysisRequest>;
  reportEventsQueue: Queue<ReportEvent>;
  /** The scope of the model that will run: what is analysed. */
  scope: ModelScopeSource;
  /** Long side of the stored presentation image and of the worker's raw analysis input. */
  analysisMaxSize: number;
  analysisInputSize: number;
  decoder: IsolatedFrameDecoder;
  /** Most images of one study sent to analysis (the rest are listed as not analysed). */
  maxImagesPerStudy: number;
  /** Looks for the patient's earlier studies when a study completes; absent: no look-up. */
  priors?: PriorFinder | undefined;
  logger: Logger;
}

export interface ProcessOptions {
  /** False for a prior being taken in for another study: it does not look for priors of its own. */
  lookForPriors?: boolean;
}

export type StudyOutcome =
  | { kind: 'empty' }
  | { kind: 'unchanged'; version: number }
  | { kind: 'queued'; version: number; analysisId: string; images: number }
  | { kind: 'not-eligible'; version: number };

const PRIORITY_ORDER: StudyPriority[] = ['stat', 'urgent', 'routine'];

/**
 * When ingest held this set of instances complete: the latest time one of them was stored (and then
 * acknowledged). For DIMSE the association is released right after; for STOW-RS it is when the last
 * request's response went out. The end-to-end latency (to the draft) starts here.
 */
export function studyCompletedAt(records: Iterable<InstanceRecord>): string | undefined {
  let latest: string | undefined;
  for (const r of records) if (latest === undefined || Date.parse(r.receivedAt) > Date.parse(latest)) latest = r.receivedAt;
  return latest;
}

/** The study's accession key: the first one its instances carry (they should all carry the same). */
function accessionKeyOfStudy(records: Iterable<InstanceRecord>): string | undefined {
  for (const r of records) if (r.accessionKey && ACCESSION_KEY_PATTERN.test(r.accessionKey)) return r.accessionKey;
  return undefined;
}

function highestPriority(records: Iterable<InstanceRecord>): StudyPriority {
  let best = PRIORITY_ORDER.length - 1;
  for (const r of records) best = Math.min(best, PRIORITY_ORDER.indexOf(r.priority));
  return PRIORITY_ORDER[best] ?? 'routine';
}

/**
 * Runs when a study is complete: decides what to analyse, prepares de-identified inputs, and
 * queues one analysis job for this version of the study. Idempotent: a run over the same set
 * of instances does nothing; a crash between steps is repaired by the retry, because every id
 * (study key, version, analysis id, event job ids) is derived from the instances themselves.
 */
export class StudyProcessor {
  constructor(private readonly deps: StudyProcessorDeps) {}

  /**
   * Completes the study and then clears its "awaiting completion" mark, unless an instance was
   * stored after the mark was read (that one's own completion, or the reconciler, covers it).
   */
  async process(studyUid: string, options: ProcessOptions = {}): Promise<StudyOutcome> {
    const { registry } = this.deps;
    const since = await registry.awaitingCompletionSince(studyUid);
    const outcome = await this.complete(studyUid, options);
    if (since !== null) await registry.completed(studyUid, since);
    return outcome;
  }

  private async complete(studyUid: string, options: ProcessOptions): Promise<StudyOutcome> {
    const { registry, logger } = this.deps;
    const instances = await registry.instances(studyUid);
    if (instances.size === 0) return { kind: 'empty' };
    const fingerprint = fingerprintOf(instances);
    const analysed = await registry.analysed(studyUid);
    if (analysed?.fingerprint === fingerprint) return { kind: 'unchanged', version: analysed.version };

    const version = (analysed?.version ?? 0) + 1;
    const studyKey = registry.studyKey(studyUid);
    const priority = highestPriority(instances.values());
    const reasons: string[] = [];
    const images: AnalysisRequest['images'] = [];
    const received: StudyReceivedEvent['images'] = [];
    const { scope } = await this.deps.scope.current();

    // Stable order: by series, then SOP Instance UID.
    const ordered = [...instances.entries()].sort(([a, ra], [b, rb]) =>
      ra.seriesInstanceUid === rb.seriesInstanceUid ? a.localeCompare(b) : ra.seriesInstanceUid.localeCompare(rb.seriesInstanceUid),
    );
    for (const [sopUid, record] of ordered) {
      const instanceKey = registry.instanceKey(sopUid);
      const decision = decideEligibility(scope, record);
      if (!decision.eligible) {
        reasons.push(`instance ${instanceKey.slice(0, 8)}: ${decision.reason}`);
        continue;
      }
      if (images.length >= this.deps.maxImagesPerStudy) {
        reasons.push(`instance ${instanceKey.slice(0, 8)}: more than ${this.deps.maxImagesPerStudy} eligible images; not analysed`);
        continue;
      }
      try {
        const prepared = await withSpan('image.prepare', { attributes: { 'cxr.instance_key': instanceKey } }, () => this.prepare(studyKey, instanceKey, record));
        images.push({
          instanceKey, imageKey: prepared.imageKey, analysisInputKey: prepared.analysisInputKey, metadataKey: prepared.metadataKey, width: prepared.width, height: prepared.height,
          ...(prepared.pixelSpacingMm !== undefined ? { pixelSpacingMm: prepared.pixelSpacingMm } : {}),
          ...(record.viewPosition ? { viewPosition: record.viewPosition } : {}),
        });
        received.push({ instanceKey, sopInstanceUid: sopUid, previewKey: prepared.previewKey, width: prepared.width, height: prepared.height });
      } catch (error) {
        if (!isPermanent(error)) throw error; // storage hiccup: the job retries
        logger.warn({ studyKey, instanceKey, reason: errorMessage(error) }, 'pixel data could not be prepared');
        reasons.push(`instance ${instanceKey.slice(0, 8)}: pixel data could not be decoded (${errorMessage(error)})`);
      }
    }

    // Priors are looked for (for a study that will be analysed) before its event and analysis go out,
    // so the report learns of them with the study, and a prior's own analysis is queued ahead of it.
    // A study fetched from a PACS as another's prior is analysed for the comparison, never read itself.
    const retrievedPrior = await registry.isRetrievedPrior(studyUid);
    const priors = images.length > 0 && options.lookForPriors !== false && !retrievedPrior ? await this.lookForPriors(studyUid, instances) : undefined;
    const now = new Date().toISOString();
    const accessionKey = accessionKeyOfStudy(instances.values());
    const event: StudyReceivedEvent = {
      type: 'study-received',
      studyKey,
      version,
      studyInstanceUid: studyUid,
      priority,
      ...(accessionKey ? { accessionKey } : {}),
      instanceCount: instances.size,
      eligible: images.length > 0,
      ineligibleReasons: reasons,
      images: received,
      receivedAt: now,
      ...(priors ? { priors } : {}),
      ...(retrievedPrior ? { role: 'prior' as const } : {}),
    };
    const spanAttributes = { 'cxr.study_key': studyKey, 'cxr.version': version };
    await publishJob(this.deps.reportEventsQueue, QUEUES.reportEvents, event, { ...spanAttributes, 'cxr.event_type': event.type });

    let outcome: StudyOutcome = { kind: 'not-eligible', version };
    if (images.length > 0) {
      const analysisId = analysisIdOf(studyKey, version);
      const completedAt = studyCompletedAt(instances.values());
      // The instances of a study normally carry the same order; where they differ, each part once.
      const indication = joinIndication(ordered.flatMap(([, record]) => (record.indication ? [record.indication] : [])));
      const request: AnalysisRequest = {
        schemaVersion: 1, analysisId, studyKey, version, priority, images, requestedAt: now,
        ...(completedAt ? { studyCompletedAt: completedAt } : {}),
        ...(indication !== undefined ? { indication } : {}),
      };
      await publishJob(this.deps.analysisQueue, QUEUES.analysis, request, { ...spanAttributes, 'cxr.images': images.length });
      outcome = { kind: 'queued', version, analysisId, images: images.length };
    }
    await registry.setAnalysed(studyUid, { version, fingerprint });
    logger.info({ studyKey, version, instances: instances.size, analysed: images.length, priority, outcome: outcome.kind }, 'study complete');
    return outcome;
  }

  /**
   * The prior look-up (priors/prior-finder.ts), then each prior processed like a study of its own,
   * without a look-up of its own: analysed if it has no result yet, 'unchanged' if it has. A prior
   * that cannot be processed now is left out of this comparison (logged), never fails this study.
   */
  private async lookForPriors(studyUid: string, instances: Map<string, InstanceRecord>): Promise<PriorLookup | undefined> {
    const { priors: finder, registry, logger } = this.deps;
    if (!finder || finder.settings.max === 0) return undefined;
    const first = [...instances.values()].sort((a, b) => a.objectKey.localeCompare(b.objectKey))[0]!;
    // The identifiers a PACS is asked by are read from the stored original, never kept in Redis.
    let patientId: string | undefined;
    let issuer: string | undefined;
    try {
      const parsed = parseInstance(await this.deps.objects.get(this.deps.buckets.originals, first.objectKey), { maxBytes: 512 * 1024 * 1024 });
      patientId = parsed.patientId;
      issuer = parsed.issuerOfPatientId;
    } catch (error) {
      if (!isPermanent(error)) throw error;
    }
    const outcome = await withSpan('priors.find', {}, () =>
      finder.find({ studyInstanceUid: studyUid, studyDate: first.studyDate, patientKey: first.patientKey, patientId, issuer }),
    );
    const found: PriorLookup['priors'] = [];
    for (const prior of outcome.priors) {
      try {
        const result = await this.process(prior.studyInstanceUid, { lookForPriors: false });
        if (result.kind === 'empty') continue;
      } catch (error) {
        logger.warn({ studyKey: registry.studyKey(studyUid), priorKey: registry.studyKey(prior.studyInstanceUid), reason: errorMessage(error) }, 'prior could not be processed; left out of the comparison');
        continue;
      }
      const date = prior.studyDate;
      found.push({ studyKey: registry.studyKey(prior.studyInstanceUid), studyDate: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`, source: prior.source });
    }
    logger.info({ studyKey: registry.studyKey(studyUid), priors: found.length, unanswered: outcome.unanswered.map((u) => u.source) }, 'prior look-up done');
    return { priors: found, unanswered: outcome.unanswered };
  }

  private async prepare(studyKey: string, instanceKey: string, record: InstanceRecord) {
    const { objects, buckets } = this.deps;
    const imageKey = objectKeys.presentationImage(studyKey, instanceKey);
    const previewKey = objectKeys.preview(studyKey, instanceKey);
    const analysisInputKey = objectKeys.analysisInput(studyKey, instanceKey);
    const metadataKey = objectKeys.deidentifiedMetadata(studyKey, instanceKey);
    const bytes = await objects.get(buckets.originals, record.objectKey);
    const { registry } = this.deps;
    const image = await prepareAnalysisImage(bytes, { presentation: this.deps.analysisMaxSize, input: this.deps.analysisInputSize }, this.deps.decoder, (uid) => registry.replacementUid(uid));
    await Promise.all([
      objects.putJson(buckets.derived, metadataKey, image.metadata),
      objects.put(buckets.derived, imageKey, image.presentationPng, 'image/png'),
      objects.put(buckets.derived, previewKey, image.previewPng, 'image/png'),
      objects.put(buckets.derived, analysisInputKey, image.analysisInput, ANALYSIS_INPUT_CONTENT_TYPE),
    ]);
    return { imageKey, previewKey, analysisInputKey, metadataKey, width: image.width, height: image.height, pixelSpacingMm: image.pixelSpacingMm };
  }
}

