// The patient and device groups a local evaluation reports every metric by, read from the
// de-identified metadata ingest stores (PS3.15 Retain Patient Characteristics and Retain Device
// Identity options; docs/security.md): never from the original headers, so the groups are exactly
// what the running system can see. An absent or empty attribute is the group `unknown`.
import type { DicomJsonDataset } from '@cxr/dicom';

export const SUBGROUP_ATTRIBUTES = ['sex', 'ageBand', 'viewPosition', 'manufacturer', 'manufacturerModelName'] as const;
export type SubgroupAttribute = (typeof SUBGROUP_ATTRIBUTES)[number];
export type SubgroupValues = Record<SubgroupAttribute, string>;

export const UNKNOWN_GROUP = 'unknown';

/** Age bands in whole years, inclusive; the last one open. */
export const AGE_BANDS: ReadonlyArray<{ name: string; min: number; max: number }> = [
  { name: '0-17', min: 0, max: 17 },
  { name: '18-39', min: 18, max: 39 },
  { name: '40-59', min: 40, max: 59 },
  { name: '60-79', min: 60, max: 79 },
  { name: '80+', min: 80, max: Number.POSITIVE_INFINITY },
];

const SEXES: Record<string, string> = { M: 'M', F: 'F', O: 'O' };

function firstString(metadata: DicomJsonDataset, jsonTag: string): string | undefined {
  const value = metadata[jsonTag]?.Value?.[0];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The band of a kept Patient's Age (`047Y`, as deidentifyMetadata writes it). */
export function ageBandOf(age: string | undefined): string {
  const match = /^(\d{3})Y$/.exec(age ?? '');
  if (!match) return UNKNOWN_GROUP;
  const years = Number(match[1]);
  return AGE_BANDS.find((b) => years >= b.min && years <= b.max)?.name ?? UNKNOWN_GROUP;
}

export function subgroupValuesOf(metadata: DicomJsonDataset): SubgroupValues {
  const sex = firstString(metadata, '00100040')?.toUpperCase();
  return {
    sex: (sex && SEXES[sex]) ?? UNKNOWN_GROUP,
    ageBand: ageBandOf(firstString(metadata, '00101010')),
    viewPosition: firstString(metadata, '00185101')?.toUpperCase() ?? UNKNOWN_GROUP,
    manufacturer: firstString(metadata, '00080070') ?? UNKNOWN_GROUP,
    manufacturerModelName: firstString(metadata, '00081090') ?? UNKNOWN_GROUP,
  };
}
