import { createHash } from 'node:crypto';
import { objectKeys, parsePatientAge } from '@cxr/contracts';
import { parseInstance, readFileMetaInformation, type ParsedInstance } from '@cxr/dicom';
import { PermanentError, TransientError, accessionKeyOf, errorMessage, withSpan, type Logger, type ObjectStore } from '@cxr/platform';
import type { FinalReportHandoff } from '../reports/final-report-handoff.ts';
import { studyIndicationOf } from '../studies/study-indication.ts';
import type { StudyRegistry, InstanceRecord } from '../studies/study-registry.ts';

/** DIMSE C-STORE failure statuses (PS3.4 B.2.3) and the STOW-RS Failure Reason they map to. */
export const StoreStatus = Object.freeze({
  outOfResources: 0xa700,
  dataSetDoesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
});

/** The instance was refused for what it is; the sender should not retry it unchanged. */
export class InstanceRejectedError extends PermanentError {
  constructor(
    message: string,
    readonly dimseStatus: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'InstanceRejectedError';
  }
}

/** We could not keep it right now (storage or Redis down); the sender should retry. */
export class StorageUnavailableError extends TransientError {
  readonly dimseStatus = StoreStatus.outOfResources;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

export interface InstanceSource {
  /** 'recovered': an orphan original recorded by the orphan sweep. */
  protocol: 'dimse' | 'stow-rs' | 'recovered' | 'prior-retrieval';
  /** Calling AE title or STOW-RS sender name. */
  sender: string;
  /**
   * SHA-256 (hex) of these bytes and of their data set, when the receiver computed them as the
   * bytes arrived (DIMSE does); otherwise they are computed here.
   */
  sha256?: { file: string; dataSet: string };
}

export interface AcceptedInstance {
  outcome: 'stored' | 'duplicate' | 'conflict';
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
}

function priorityOf(instance: ParsedInstance): InstanceRecord['priority'] {
  const p = (instance.priority ?? '').trim().toUpperCase();
  if (p === 'STAT') return 'stat';
  if (p === 'HIGH' || p === 'URGENT') return 'urgent';
  return 'routine';
}

/**
 * Accepting an instance: validate, store the bytes unchanged under a content-addressed key (unless
 * that object is already recorded: first stored bytes win), then record it. Success is reported
 * only after both; a failure of either is transient and the sender retries. An object stored whose
 * record then failed is an orphan until the sender's retry records it, or the orphan sweep does.
 */
export class InstanceStore {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      bucket: string;
      registry: StudyRegistry;
      logger: Logger;
      maxInstanceBytes: number;
      /** Where signed text SRs go (the second read); absent: they are kept as instances like any other. */
      finalReports?: FinalReportHandoff;
    },
  ) {}

  /** In an `instance.store` span (attributes: protocol, size, pseudonymous study key, outcome). */
  accept(bytes: Buffer, source: InstanceSource): Promise<AcceptedInstance> {
    return withSpan('instance.store', { attributes: { 'cxr.protocol': source.protocol, 'cxr.bytes': bytes.length } }, async (span) => {
      const accepted = await this.store(bytes, source);
      span.setAttributes({ 'cxr.study_key': this.deps.registry.studyKey(accepted.studyInstanceUid), 'cxr.outcome': accepted.outcome });
      return accepted;
    });
  }

  private async store(bytes: Buffer, source: InstanceSource): Promise<AcceptedInstance> {
    const { logger, registry } = this.deps;
    const { instance, sha256, key } = this.identify(bytes, source);
    const ids = idsOf(instance);
    try {
      // The first stored bytes of an instance are kept: an object already recorded under this key
      // (the same data set sent again, perhaps by the other protocol with another file meta header)
      // is not written again, so a RetrieveURL handed out for it keeps serving what was stored. The
      // check is the Redis record, not the bucket (s3rver has no conditional PUT, and a stat per
      // instance costs a storage round trip): two sends of one instance racing each other can both
      // find no record, and then the later PUT's bytes (same data set, its own meta header) win.
      const recorded = await registry.instance(instance.studyInstanceUid, instance.sopInstanceUid);
      const alreadyStored = recorded !== null && (recorded.objectKey === key || (recorded.conflicts ?? []).includes(key));
      if (!alreadyStored) {
        await this.deps.objects.put(this.deps.bucket, key, bytes, 'application/dicom', source.sha256 ? { sha256: source.sha256.file } : {});
      }
      // A radiologist's signed report as a text SR: kept as received, then handed to the second read,
      // not recorded as an instance of the study (which would make a new version to analyse). An
      // unverified or empty one is recorded like any other non-image instance (not eligible).
      if (this.deps.finalReports?.handles(instance.sopClassUid)) {
        const handed = await this.deps.finalReports.submit(instance, key);
        logger.info({ studyKey: registry.studyKey(instance.studyInstanceUid), protocol: source.protocol, outcome: handed }, 'text SR received');
        if (handed === 'queued') return { outcome: 'stored', ...ids };
      }
      const record = recordOf(instance, key, sha256, source, registry.patientKey(instance.patientId, instance.issuerOfPatientId));
      const outcome = await registry.recordInstance(instance.studyInstanceUid, instance.sopInstanceUid, record);
      if (record.patientKey) await registry.indexPatientStudy(record.patientKey, instance.studyInstanceUid, record.studyDate ?? '');
      if (outcome === 'conflict') {
        logger.warn(
          { studyKey: registry.studyKey(instance.studyInstanceUid), sha256, protocol: source.protocol, sender: source.sender },
          'a different object claims an already stored SOP Instance UID; kept apart and flagged',
        );
      }
      return { outcome, ...ids };
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      throw new StorageUnavailableError(`cannot store the instance now: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Parses and hashes an instance, and names the object it is stored as. */
  private identify(bytes: Buffer, source: InstanceSource): { instance: ParsedInstance; sha256: string; key: string } {
    if (bytes.length > this.deps.maxInstanceBytes) {
      throw new InstanceRejectedError(`instance of ${bytes.length} bytes exceeds the ${this.deps.maxInstanceBytes}-byte limit`, StoreStatus.outOfResources);
    }
    let instance: ParsedInstance;
    let dataSetOffset: number;
    try {
      instance = parseInstance(bytes, { maxBytes: this.deps.maxInstanceBytes });
      dataSetOffset = source.sha256 ? 0 : readFileMetaInformation(bytes).dataSetOffset;
    } catch (error) {
      const reason = errorMessage(error);
      this.deps.logger.warn({ protocol: source.protocol, sender: source.sender, bytes: bytes.length, reason }, 'instance refused');
      throw new InstanceRejectedError(`refused: ${reason}`, StoreStatus.cannotUnderstand, { cause: error });
    }
    // The hash covers the data set, not the file meta header: a DIMSE receiver writes its own
    // header while STOW-RS keeps the sender's, and the same instance sent both ways is one object.
    const sha256 = source.sha256?.dataSet ?? createHash('sha256').update(bytes.subarray(dataSetOffset)).digest('hex');
    const key = objectKeys.original(instance.studyInstanceUid, instance.seriesInstanceUid, instance.sopInstanceUid, sha256);
    return { instance, sha256, key };
  }

  /**
   * Records an object found in the originals bucket without a record (an orphan: stored, then the
   * record failed and the sender was told to retry). Only an object whose key is what its bytes
   * would be stored as is recorded; 'mismatch' otherwise (and for bytes that do not parse).
   */
  async adopt(key: string, bytes: Buffer, options: { dryRun?: boolean } = {}): Promise<'stored' | 'duplicate' | 'conflict' | 'mismatch'> {
    const source: InstanceSource = { protocol: 'recovered', sender: 'orphan-sweep' };
    let identified;
    try {
      identified = this.identify(bytes, source);
    } catch (error) {
      if (error instanceof InstanceRejectedError) return 'mismatch';
      throw error;
    }
    const { instance, sha256 } = identified;
    if (identified.key !== key) return 'mismatch';
    if (options.dryRun) return 'stored';
    const { registry } = this.deps;
    const record = recordOf(instance, key, sha256, source, registry.patientKey(instance.patientId, instance.issuerOfPatientId));
    const outcome = await registry.recordInstance(instance.studyInstanceUid, instance.sopInstanceUid, record);
    if (record.patientKey) await registry.indexPatientStudy(record.patientKey, instance.studyInstanceUid, record.studyDate ?? '');
    return outcome;
  }
}

function idsOf(instance: ParsedInstance): Omit<AcceptedInstance, 'outcome'> {
  return {
    sopClassUid: instance.sopClassUid,
    sopInstanceUid: instance.sopInstanceUid,
    studyInstanceUid: instance.studyInstanceUid,
    seriesInstanceUid: instance.seriesInstanceUid,
  };
}

function recordOf(instance: ParsedInstance, key: string, sha256: string, source: InstanceSource, patientKey: string | undefined): InstanceRecord {
  const studyDate = /^\d{8}$/.test(instance.studyDate?.trim() ?? '') ? instance.studyDate!.trim() : undefined;
  return {
    sha256,
    objectKey: key,
    seriesInstanceUid: instance.seriesInstanceUid,
    sopClassUid: instance.sopClassUid,
    transferSyntaxUid: instance.transferSyntaxUid,
    modality: instance.modality ?? '',
    bodyPartExamined: instance.bodyPartExamined ?? '',
    viewPosition: instance.viewPosition ?? '',
    photometricInterpretation: instance.photometricInterpretation ?? '',
    rows: instance.rows ?? 0,
    columns: instance.columns ?? 0,
    numberOfFrames: instance.numberOfFrames,
    hasPixelData: instance.hasPixelData,
    ...ageOf(instance.patientAge),
    ...indicationOf(instance),
    ...(instance.accessionNumber?.trim() ? { accessionKey: accessionKeyOf(instance.accessionNumber) } : {}),
    priority: priorityOf(instance),
    ...(patientKey ? { patientKey } : {}),
    ...(studyDate ? { studyDate } : {}),
    receivedAt: new Date().toISOString(),
    protocol: source.protocol,
    sender: source.sender,
  };
}

/** Patient's Age in whole years, capped at 90 (ages over 89 identify a patient: PS3.15, HIPAA). */
function ageOf(patientAge: string | undefined): { patientAgeYears?: number } {
  const years = parsePatientAge(patientAge);
  return years === undefined ? {} : { patientAgeYears: Math.min(90, Math.round(years * 100) / 100) };
}

/** The clinical question of the order, already scrubbed (the record is handed on without identifiers). */
function indicationOf(instance: ParsedInstance): { indication?: string } {
  const indication = studyIndicationOf(instance);
  return indication === undefined ? {} : { indication };
}
