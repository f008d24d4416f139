import { afterAll, describe, expect, test } from 'vitest';
import { IsolatedFrameDecoder } from '@cxr/dicom';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { prepareAnalysisImage } from './analysis-image.ts';

const decoder = new IsolatedFrameDecoder();
afterAll(() => decoder.close());

describe('prepareAnalysisImage: the de-identified metadata stored for analysis', () => {
  test("keeps the patient's sex, the age in whole years and the device make and model, and no identifier", async () => {
    const study = makeChestStudy({ seed: 42, size: 300, findings: [], patient: { sex: 'M', age: '093Y' }, equipment: { manufacturer: 'ACME Imaging', modelName: 'Flatpanel 9' } });
    const image = await prepareAnalysisImage(study.file, { presentation: 1024, input: 256 }, decoder, (uid) => `2.25.${uid.length}`);
    expect(image.metadata['00100040']).toEqual({ vr: 'CS', Value: ['M'] });
    expect(image.metadata['00101010']).toEqual({ vr: 'AS', Value: ['090Y'] });
    expect(image.metadata['00080070']).toEqual({ vr: 'LO', Value: ['ACME Imaging'] });
    expect(image.metadata['00081090']).toEqual({ vr: 'LO', Value: ['Flatpanel 9'] });
    const json = JSON.stringify(image.metadata);
    for (const id of [study.patient.id, study.patient.name, study.accessionNumber, study.studyInstanceUid]) expect(json).not.toContain(id);
  });
});
