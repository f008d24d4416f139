// The part of dcmjs (which ships no type declarations) that the exports use: naturalised data
// sets (attributes by DICOM keyword) read from and written to Part 10 bytes.
declare module 'dcmjs' {
  /** A data set keyed by DICOM keyword; sequences are arrays of data sets. */
  export type NaturalDataset = Record<string, unknown>;

  export interface DicomDictInstance {
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  interface DcmjsData {
    DicomDict: new (meta: Record<string, unknown>) => DicomDictInstance;
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean }): DicomDictInstance;
    };
    DicomMetaDictionary: {
      /** Keyword → dictionary entry. */
      nameMap: Record<string, { tag: string; vr: string }>;
      naturalizeDataset(dict: Record<string, unknown>): NaturalDataset;
      denaturalizeDataset(dataset: NaturalDataset): Record<string, unknown>;
    };
  }

  interface DcmjsLog {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  const dcmjs: { data: DcmjsData; log: DcmjsLog };
  export default dcmjs;
}
