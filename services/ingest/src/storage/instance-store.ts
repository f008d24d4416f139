import { createHash } from 'node:crypto';
import { objectKeys, parsePatientAge } from '@cxr/contracts';
import { parseInstance, readFileMetaInformation, type ParsedInstance } from '@cxr/dicom';
import { PermanentError, TransientError, accessionKeyOf, errorMessage, withSpan, type Logger, type ObjectStore } from '@cxr/platform';
import type { FinalReportHandoff } from '../reports/final-report-handoff.ts';
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
  protocol: 'dimse' | 'stow-rs';
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
 * Accepting an instance: validate, store the bytes unchanged under a content-addressed key,
 * then record it. Success is reported only after both; a failure of either is transient and
 * the sender's retry finds the object already there (same hash) and just records it.
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
    const { logger } = this.deps;
    if (bytes.length > this.deps.maxInstanceBytes) {
      throw new InstanceRejectedError(`instance of ${bytes.length} bytes exceeds the ${this.deps.maxInstanceBytes}-byte limit`, StoreStatus.outOfResources);
    }
    let instance: ParsedInstance;
    try {
      instance = parseInstance(bytes, { maxBytes: this.deps.maxInstanceBytes });
    } catch (error) {
      const reason = errorMessage(error);
      logger.warn({ protocol: source.protocol, sender: source.sender, bytes: bytes.length, reason }, 'instance refused');
      throw new InstanceRejectedError(`refused: ${reason}`, StoreStatus.cannotUnderstand, { cause: error });
    }
    // The hash covers the data set, not the file meta header: a DIMSE receiver writes its own
    // header while STOW-RS keeps the sender's, and the same instance sent both ways is one object.
    const sha256 = source.sha256?.dataSet ?? createHash('sha256').update(bytes.subarray(readFileMetaInformation(bytes).dataSetOffset)).digest('hex');
    const key = objectKeys.original(instance.studyInstanceUid, instance.seriesInstanceUid, instance.sopInstanceUid, sha256);
    const ids = {
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
      studyInstanceUid: instance.studyInstanceUid,
      seriesInstanceUid: instance.seriesInstanceUid,
    };
    try {
      // No stat first: the key is content-addressed, so writing it again stores the same bytes,
      // and a stat before every put cost a storage round trip per instance (~20% of a small
      // instance's C-STORE time against s3rver) to save an upload only on resends.
      await this.deps.objects.put(this.deps.bucket, key, bytes, 'application/dicom', source.sha256 ? { sha256: source.sha256.file } : {});
      // A radiologist's signed report as a text SR: kept as received, then handed to the second read,
      // not recorded as an instance of the study (which would make a new version to analyse). An
      // unverified or empty one is recorded like any other non-image instance (not eligible).
      if (this.deps.finalReports?.handles(instance.sopClassUid)) {
        const handed = await this.deps.finalReports.submit(instance, key);
        logger.info({ studyKey: this.deps.registry.studyKey(instance.studyInstanceUid), protocol: source.protocol, outcome: handed }, 'text SR received');
        if (handed === 'queued') return { outcome: 'stored', ...ids };
      }
      const record: InstanceRecord = {
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
        ...(instance.accessionNumber?.trim() ? { accessionKey: accessionKeyOf(instance.accessionNumber) } : {}),
        priority: priorityOf(instance),
        receivedAt: new Date().toISOString(),
        protocol: source.protocol,
        sender: source.sender,
      };
      const outcome = await this.deps.registry.recordInstance(instance.studyInstanceUid, instance.sopInstanceUid, record);
      if (outcome === 'conflict') {
        logger.warn(
          { studyKey: this.deps.registry.studyKey(instance.studyInstanceUid), sha256, protocol: source.protocol, sender: source.sender },
          'a different object claims an already stored SOP Instance UID; kept apart and flagged',
        );
      }
      return { outcome, ...ids };
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      throw new StorageUnavailableError(`cannot store the instance now: ${errorMessage(error)}`, { cause: error });
    }
  }
}

/** Patient's Age in whole years, capped at 90 (ages over 89 identify a patient: PS3.15, HIPAA). */
function ageOf(patientAge: string | undefined): { patientAgeYears?: number } {
  const years = parsePatientAge(patientAge);
  return years === undefined ? {} : { patientAgeYears: Math.min(90, Math.round(years * 100) / 100) };
}
