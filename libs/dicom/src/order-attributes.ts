// The clinical question as a RIS puts it into the images: the order attributes of the General Study,
// Patient Study and Request Attributes modules. Free text, possibly identifying (names, dates): callers
// scrub it before it leaves the service that holds identifiers (ingest: privacy/free-text-scrubber.ts).
import type { DataSet } from 'dicom-parser';
import { dataSetOf, type ParsedInstance } from './parse.ts';
import { Tag } from './tags.ts';

export interface OrderAttributes {
  /** Reason for the Requested Procedure (0040,1002), here and in each Request Attributes Sequence item. */
  reasons: string[];
  /** Requested Procedure Description (0032,1060) and Scheduled Procedure Step Description (0040,0007). */
  procedures: string[];
  /** Additional Patient History (0010,21B0). */
  history: string | undefined;
  /** Admitting Diagnoses Description (0008,1080). */
  admittingDiagnoses: string | undefined;
  /** Study Description (0008,1030). */
  studyDescription: string | undefined;
}

/** Longest free text kept from one attribute (LT may hold 10,240 characters). */
const MAX_TEXT = 1024;
/** Request Attributes Sequence items read (a sequence may be long; the order is in the first few). */
const MAX_REQUEST_ITEMS = 8;

function text(dataSet: DataSet, tag: string): string | undefined {
  let value: string | undefined;
  try {
    value = dataSet.string(tag);
  } catch {
    return undefined;
  }
  const trimmed = value?.replace(/\s+/g, ' ').trim();
  return trimmed ? trimmed.slice(0, MAX_TEXT) : undefined;
}

const unique = (values: (string | undefined)[]): string[] => [...new Set(values.filter((v): v is string => v !== undefined))];

export function readOrderAttributes(instance: ParsedInstance): OrderAttributes {
  const dataSet = dataSetOf(instance);
  const items = (dataSet.elements[Tag.RequestAttributesSequence]?.items ?? []).slice(0, MAX_REQUEST_ITEMS).flatMap((item) => (item.dataSet ? [item.dataSet] : []));
  return {
    reasons: unique([text(dataSet, Tag.ReasonForTheRequestedProcedure), ...items.map((d) => text(d, Tag.ReasonForTheRequestedProcedure))]),
    procedures: unique([
      text(dataSet, Tag.RequestedProcedureDescription),
      ...items.flatMap((d) => [text(d, Tag.RequestedProcedureDescription), text(d, Tag.ScheduledProcedureStepDescription)]),
    ]),
    history: text(dataSet, Tag.AdditionalPatientHistory),
    admittingDiagnoses: text(dataSet, Tag.AdmittingDiagnosesDescription),
    studyDescription: text(dataSet, Tag.StudyDescription),
  };
}
