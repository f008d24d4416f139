// A Basic Text SR as a reporting system writes one (tests and demos of the second read): explicit VR little endian, the SR
// Document General module flags and a content tree of CONTAINER and TEXT items.
import { encodeFileMetaInformation } from './file-meta.ts';
import { Tag } from './tags.ts';
import { SopClass, TransferSyntax } from './uids.ts';
import { encodeDataSet, type DataElement } from './writer.ts';

export interface TextSrInput {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  accessionNumber?: string;
  sopClassUid?: string;
  verification?: 'VERIFIED' | 'UNVERIFIED';
  /** Sections: Code Meaning of each CONTAINER and its TEXT values. */
  sections: ReadonlyArray<{ heading: string; texts: readonly string[] }>;
}

const concept = (meaning: string, code = '121070'): DataElement => ({
  tag: Tag.ConceptNameCodeSequence,
  vr: 'SQ',
  value: [[
    { tag: Tag.CodeValue, vr: 'SH', value: code },
    { tag: Tag.CodingSchemeDesignator, vr: 'SH', value: 'DCM' },
    { tag: Tag.CodeMeaning, vr: 'LO', value: meaning },
  ]],
});

export function writeTextSr(input: TextSrInput): Buffer {
  const sopClassUid = input.sopClassUid ?? SopClass.BasicTextSR;
  const content: DataElement[][] = input.sections.map((section): DataElement[] => [
    { tag: Tag.RelationshipType, vr: 'CS', value: 'CONTAINS' },
    { tag: Tag.ValueType, vr: 'CS', value: 'CONTAINER' },
    concept(section.heading),
    { tag: 'x0040a050', vr: 'CS', value: 'SEPARATE' }, // (0040,A050) Continuity Of Content
    {
      tag: Tag.ContentSequence,
      vr: 'SQ',
      value: section.texts.map((text): DataElement[] => [
        { tag: Tag.RelationshipType, vr: 'CS', value: 'CONTAINS' },
        { tag: Tag.ValueType, vr: 'CS', value: 'TEXT' },
        concept('Finding', '121071'),
        { tag: Tag.TextValue, vr: 'UT', value: text },
      ]),
    },
  ]);
  const dataSet = encodeDataSet([
    { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: input.sopInstanceUid },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: input.studyInstanceUid },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: input.seriesInstanceUid },
    { tag: Tag.Modality, vr: 'CS', value: 'SR' },
    { tag: Tag.AccessionNumber, vr: 'SH', value: input.accessionNumber ?? '' },
    { tag: Tag.PatientName, vr: 'PN', value: 'DOE^JANE' },
    { tag: Tag.PatientId, vr: 'LO', value: 'PAT-SR-1' },
    { tag: Tag.ValueType, vr: 'CS', value: 'CONTAINER' },
    concept('Chest X-ray Report', '18748-4'),
    { tag: 'x0040a050', vr: 'CS', value: 'SEPARATE' },
    { tag: Tag.CompletionFlag, vr: 'CS', value: 'COMPLETE' },
    { tag: Tag.VerificationFlag, vr: 'CS', value: input.verification ?? 'VERIFIED' },
    { tag: Tag.ContentSequence, vr: 'SQ', value: content },
  ]);
  const meta = encodeFileMetaInformation({ mediaStorageSopClassUid: sopClassUid, mediaStorageSopInstanceUid: input.sopInstanceUid, transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian });
  return Buffer.concat([meta, dataSet]);
}
