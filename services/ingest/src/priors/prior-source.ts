/**
 * What a PACS offers the prior look-up: find a patient's earlier studies, and retrieve one. Two
 * kinds (dicomweb-prior-source.ts: QIDO-RS / WADO-RS; dimse-prior-source.ts: C-FIND, then C-MOVE
 * or C-GET), configured per PACS (INGEST_PRIORS_PACS). Sources see the patient's identifiers
 * (they must, to ask a PACS), so they never log them.
 */

export interface PriorQuery {
  patientId: string;
  /** Issuer of Patient ID; a study the PACS reports under another issuer is not this patient's. */
  issuer?: string | undefined;
  /** Study Date range, inclusive, `YYYYMMDD`. */
  from: string;
  to: string;
}

/** One study a PACS holds for the patient. */
export interface RemoteStudy {
  studyInstanceUid: string;
  /** `YYYYMMDD`. */
  studyDate: string;
  /** Modalities in Study (0008,0061); empty when the PACS did not say. */
  modalities: string[];
  /** Issuer of Patient ID as the PACS answered it; undefined when it did not say. */
  issuer?: string | undefined;
  /** Patient ID as the PACS answered it; undefined when it did not say. */
  patientId?: string | undefined;
}

/** Takes in one retrieved instance (ingest's InstanceStore: validated, stored, recorded). */
export type InstanceSink = (bytes: Buffer) => Promise<void>;

export interface PriorSource {
  /** The PACS's name in the settings (it appears in the report's look-up status). */
  readonly name: string;
  /** Studies of the patient within the date range. `signal` aborts at the wait bound. */
  find(query: PriorQuery, signal: AbortSignal): Promise<RemoteStudy[]>;
  /**
   * Brings one study in: each instance through `sink`, or (C-MOVE) to ingest's own storage SCP,
   * which records it as it records any other instance. Resolves once all of it is in.
   */
  retrieve(studyInstanceUid: string, sink: InstanceSink, signal: AbortSignal): Promise<void>;
}

/** Chest radiographs come as CR or DX; a study that names its modalities and has neither is no prior. */
export const RADIOGRAPH_MODALITIES: ReadonlySet<string> = new Set(['CR', 'DX']);

export function mayBeChestRadiograph(study: Pick<RemoteStudy, 'modalities'>): boolean {
  return study.modalities.length === 0 || study.modalities.some((m) => RADIOGRAPH_MODALITIES.has(m.toUpperCase()));
}

/**
 * Whether the PACS's answer is this patient: a study answered under another Patient ID (a PACS
 * that matches loosely) or another issuer (the same ID from another hospital) is someone else.
 */
export function samePatient(query: PriorQuery, study: RemoteStudy): boolean {
  const asked = query.issuer?.trim() ?? '';
  const answered = study.issuer?.trim() ?? '';
  const answeredId = study.patientId?.trim() ?? '';
  return (asked === '' || answered === '' || asked === answered) && (answeredId === '' || answeredId === query.patientId.trim());
}

/**
 * A Patient ID or issuer a PACS can be asked by exactly: `*` and `?` are wildcards in DICOM and
 * QIDO-RS matching and `\` separates values, so an ID holding one would match other patients. Such
 * a patient is not looked up in any PACS (its own store still is, by pseudonym).
 */
export function exactlyQueryable(value: string | undefined): boolean {
  return value === undefined || !/[*?\\]/.test(value);
}

/** A DICOM DA value, only when it is one (`YYYYMMDD`). */
export function dicomDate(value: string | undefined): string | undefined {
  const v = value?.trim() ?? '';
  return /^\d{8}$/.test(v) ? v : undefined;
}
