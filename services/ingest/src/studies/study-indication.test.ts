import { describe, expect, test } from 'vitest';
import { MAX_INDICATION_LENGTH } from '@cxr/contracts';
import { parseInstance } from '@cxr/dicom';
import { makeChestStudy, type ChestStudyOptions } from '@cxr/phantom/dicom';
import { joinIndication, studyIndicationOf } from './study-indication.ts';

const instanceWith = (order: ChestStudyOptions['order'], seed = 7) => {
  const study = makeChestStudy({ seed, size: 32, ...(order ? { order } : {}) });
  return { study, instance: parseInstance(study.file) };
};

describe('studyIndicationOf', () => {
  test('reads the reason for the requested procedure and the history from the order', () => {
    const { instance } = instanceWith({ reason: '? pneumothorax after line insertion', history: 'SOB, fever 3 days' });
    expect(studyIndicationOf(instance)).toBe('? pneumothorax after line insertion; SOB, fever 3 days');
  });

  test('a name and a date in the reason (0040,1002) come out scrubbed', () => {
    const probe = makeChestStudy({ seed: 11, size: 32 });
    const family = probe.patient.name.split('^')[1]!; // "SYNTHETIC11"
    // (0040,1002) is LO: 64 characters at most.
    const { instance } = instanceWith({ reason: `${family} 02/11/2026 Dr Watson: ? pneumothorax`, history: `MRN ${probe.patient.id}, chest pain` }, 11);
    const indication = studyIndicationOf(instance)!;
    expect(indication).toContain('? pneumothorax');
    expect(indication).not.toContain(family);
    expect(indication).not.toContain('Watson');
    expect(indication).not.toContain('02/11/2026');
    expect(indication).not.toContain(probe.patient.id);
    expect(indication).toBe('[removed] : ? pneumothorax; MRN [removed], chest pain');
  });

  // The phantom's study description is "CHEST PA (synthetic phantom)" and its patient is named
  // PHANTOM^SYNTHETIC<seed>: the scrubber takes the patient's own name out of it, as it should.
  test('uses the requested procedure or study description only when the order gives no reason or history', () => {
    expect(studyIndicationOf(instanceWith({ reason: 'r/o effusion', requestedProcedureDescription: 'CHEST PA' }).instance)).toBe('r/o effusion');
    expect(studyIndicationOf(instanceWith({ requestedProcedureDescription: 'CXR ? PTX' }).instance)).toBe('CXR ? PTX; CHEST PA (synthetic [removed])');
  });

  test('falls back to the study description alone when there is no order', () => {
    expect(studyIndicationOf(instanceWith(undefined).instance)).toBe('CHEST PA (synthetic [removed])');
  });

  test('drops a part with nothing left but removed identifiers', () => {
    const { study, instance } = instanceWith({ reason: 'ACC0000007', history: 'cough' });
    expect(study.accessionNumber).toBe('ACC0000007');
    expect(studyIndicationOf(instance)).toBe('cough');
  });
});

describe('joinIndication', () => {
  test('keeps each part once, case aside, and nothing when there are no parts', () => {
    expect(joinIndication(['? PTX', '? ptx;', 'fever'])).toBe('? PTX; fever');
    expect(joinIndication([' ', ''])).toBeUndefined();
  });

  test('bounds a huge indication to the contract\'s length on a word boundary', () => {
    const long = joinIndication(['cough '.repeat(1000)])!;
    expect(long.length).toBeLessThanOrEqual(MAX_INDICATION_LENGTH);
    expect(long.endsWith('cough…')).toBe(true);
  });
});
