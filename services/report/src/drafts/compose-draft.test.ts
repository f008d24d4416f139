import { describe, expect, test } from 'vitest';
import { AI_DRAFT_DISCLAIMER, objectKeys } from '@cxr/contracts';
import { composeDraft, NO_FINDINGS_TEXT, NO_IMPRESSION_TEXT } from './compose-draft.ts';
import { reportDraftSchema } from './report-draft.ts';
import { analysisResult, fixtureImage, randomKey } from '../testing/fixtures.ts';

const composedAt = '2026-01-02T03:06:00.000Z';

describe('composeDraft', () => {
  test('puts the model text into the findings and impression sections', () => {
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), { composedAt });
    expect(draft.sections).toEqual({ findings: 'Blunting of the right costophrenic angle.', impression: 'Right pleural effusion.' });
  });

  test('writes a text whose first line says it is an AI-generated draft, then FINDINGS and IMPRESSION', () => {
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), { composedAt });
    const lines = draft.text.split('\n');
    expect(lines[0]).toBe(AI_DRAFT_DISCLAIMER);
    expect(draft.text).toBe(
      `${AI_DRAFT_DISCLAIMER}\n\nFINDINGS:\nBlunting of the right costophrenic angle.\n\nIMPRESSION:\nRight pleural effusion.`,
    );
  });

  test('lists every finding of every image with probability, threshold, positive and coding', () => {
    const studyKey = randomKey();
    const images = [fixtureImage(), fixtureImage()];
    const draft = composeDraft(analysisResult(studyKey, 2, images), { composedAt });
    expect(draft.findings).toHaveLength(4);
    expect(draft.findings[0]).toEqual({
      instanceKey: images[0]!.instanceKey,
      code: 'pleural-effusion',
      display: 'Pleural effusion',
      coding: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' },
      probability: 0.91,
      threshold: 0.5,
      positive: true,
      peak: { x: 0.25, y: 0.75 },
      heatmapKey: objectKeys.heatmap(studyKey, 2, images[0]!.instanceKey, 'pleural-effusion'),
      overlayKey: objectKeys.overlay(studyKey, 2, images[0]!.instanceKey, 'pleural-effusion'),
    });
    expect(draft.findings[1]).toMatchObject({ code: 'pneumothorax', positive: false, coding: null });
    expect(draft.findings[2]!.instanceKey).toBe(images[1]!.instanceKey);
  });

  test('keeps a paragraph the model repeats for a second view once', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage(), fixtureImage()]);
    result.images[1]!.text = { findings: 'Blunting of the right costophrenic angle.', impression: 'Small right effusion.' };
    const draft = composeDraft(result, { composedAt });
    expect(draft.sections.findings).toBe('Blunting of the right costophrenic angle.');
    expect(draft.sections.impression).toBe('Right pleural effusion.\nSmall right effusion.');
  });

  test('says so when the model generated no text', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: '  ', impression: '' };
    const draft = composeDraft(result, { composedAt });
    expect(draft.sections).toEqual({ findings: NO_FINDINGS_TEXT, impression: NO_IMPRESSION_TEXT });
  });

  test('produces a draft that matches the stored draft schema and carries the model and analysis', () => {
    const result = analysisResult(randomKey(), 3, [fixtureImage()]);
    const draft = composeDraft(result, { composedAt });
    expect(reportDraftSchema.parse(draft)).toEqual(draft);
    expect(draft).toMatchObject({ studyKey: result.studyKey, version: 3, analysisId: result.analysisId, composedAt, model: result.model });
  });

  test('does not modify the analysis result it is given', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    const before = structuredClone(result);
    composeDraft(result, { composedAt });
    expect(result).toEqual(before);
  });
});
