import { describe, expect, test } from 'vitest';
import { AI_DRAFT_DISCLAIMER, objectKeys } from '@cxr/contracts';
import { composeDraft, findingSentence, NO_FINDINGS_TEXT, NO_IMPRESSION_TEXT, NORMAL_STUDY_IMPRESSION } from './compose-draft.ts';
import type { FindingGeometry } from './finding-geometry.ts';
import { groundSentences } from './grounding.ts';
import { reportDraftSchema } from './report-draft.ts';
import { analysisResult, fixtureImage, randomKey } from '../testing/fixtures.test-support.ts';

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

  test('puts a COMPARISON section before FINDINGS when there is one, written from the draft\'s own findings', () => {
    const seen: string[] = [];
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), {
      composedAt,
      comparison: (findings) => {
        seen.push(...findings.filter((f) => f.positive).map((f) => f.code));
        return 'Compared with 2026-11-02: new pleural effusion.';
      },
    });
    expect(seen).toEqual(['pleural-effusion']);
    expect(draft.sections.comparison).toBe('Compared with 2026-11-02: new pleural effusion.');
    expect(draft.text).toBe(
      `${AI_DRAFT_DISCLAIMER}\n\nCOMPARISON:\nCompared with 2026-11-02: new pleural effusion.\n\nFINDINGS:\nBlunting of the right costophrenic angle.\n\nIMPRESSION:\nRight pleural effusion.`,
    );
  });

  test('has no COMPARISON section when no prior look-up was done', () => {
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), { composedAt });
    expect(draft.sections).not.toHaveProperty('comparison');
    expect(draft.text).not.toContain('COMPARISON');
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
      confidence: 'high',
      side: null,
      zone: null,
      region: null,
    });
    expect(draft.findings[1]).toMatchObject({ code: 'pneumothorax', positive: false, coding: null });
    expect(draft.findings[2]!.instanceKey).toBe(images[1]!.instanceKey);
  });

  test('keeps a paragraph the model repeats for a second view once, and states a finding once', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage(), fixtureImage()]);
    result.images[1]!.text = { findings: 'Blunting of the right costophrenic angle.', impression: 'Small right effusion.' };
    const draft = composeDraft(result, { composedAt });
    expect(draft.sections.findings).toBe('Blunting of the right costophrenic angle.');
    expect(draft.sections.impression).toBe('Right pleural effusion.');
    expect(draft.textEdits!.map((e) => [e.section, e.rule, e.original])).toEqual([
      ['findings', 'repeated', 'Blunting of the right costophrenic angle.'],
      ['impression', 'restated-finding', 'Small right effusion.'],
    ]);
  });

  test('says so when the model generated no text and found nothing', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: '  ', impression: '' };
    for (const finding of result.images[0]!.findings) finding.positive = false;
    const draft = composeDraft(result, { composedAt });
    expect(draft.sections).toEqual({ findings: NO_FINDINGS_TEXT, impression: NORMAL_STUDY_IMPRESSION });
  });

  test('writes a sentence for a positive finding in both sections when the model generated no text', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: '', impression: ' ' };
    const draft = composeDraft(result, { composedAt });
    expect(draft.sections).toEqual({ findings: 'Pleural effusion (high confidence).', impression: 'Pleural effusion (high confidence).' });
    expect(draft.sections.impression).not.toBe(NO_IMPRESSION_TEXT);
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

  test('fills in confidence, and side, zone and region from the heatmap geometry it is given', () => {
    const images = [fixtureImage(), fixtureImage()];
    const result = analysisResult(randomKey(), 1, images);
    const geometry: FindingGeometry = { side: 'right', zone: 'lower', region: { x: 0.1, y: 0.6, width: 0.2, height: 0.1 } };
    const draft = composeDraft(result, {
      composedAt,
      geometryOf: (instanceKey, code) => (instanceKey === images[0]!.instanceKey && code === 'pleural-effusion' ? geometry : undefined),
    });
    expect(draft.findings.map((f) => [f.confidence, f.side, f.zone, f.region])).toEqual([
      ['high', 'right', 'lower', geometry.region],
      ['moderate', null, null, null],
      ['high', null, null, null],
      ['moderate', null, null, null],
    ]);
  });
});

describe('composeDraft: normal-study wording', () => {
  function allNegative(text: { findings: string; impression: string }) {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = text;
    for (const finding of result.images[0]!.findings) finding.positive = false;
    return result;
  }

  test('says the study is normal in the impression when no finding is positive', () => {
    const draft = composeDraft(allNegative({ findings: 'The lungs are clear. No pneumothorax.', impression: '' }), { composedAt });
    expect(draft.sections).toEqual({ findings: 'The lungs are clear. No pneumothorax.', impression: NORMAL_STUDY_IMPRESSION });
    expect(draft.text.endsWith(`IMPRESSION:\n${NORMAL_STUDY_IMPRESSION}`)).toBe(true);
  });

  test.each(['No acute cardiopulmonary abnormality.', 'Normal chest radiograph.', 'No acute abnormality; lungs clear.'])(
    'keeps the model\'s own impression %j when it already says the study is normal',
    (impression) => {
      expect(composeDraft(allNegative({ findings: 'The lungs are clear.', impression }), { composedAt }).sections.impression).toBe(impression);
    },
  );

  test('drops the sentences that assert a finding the classifier called negative, in findings and impression', () => {
    const draft = composeDraft(allNegative({ findings: 'Blunting of the right costophrenic angle.', impression: 'No acute abnormality. Right pleural effusion.' }), { composedAt });
    expect(draft.sections).toEqual({ findings: NO_FINDINGS_TEXT, impression: 'No acute abnormality.' });
    expect(draft.textEdits!.map((e) => e.rule)).toEqual(['asserts-negative', 'asserts-negative']);
  });

  test('drops a model impression that calls the study normal when a finding is positive, and states the finding', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: 'Blunting of the right costophrenic angle.', impression: 'No acute cardiopulmonary abnormality.' };
    // Placed where the findings place it (the right), the heatmap giving no side here.
    expect(composeDraft(result, { composedAt }).sections.impression).toBe('Pleural effusion on the right (high confidence).');
  });
});

describe('composeDraft: sentences for positive findings the model\'s text leaves out', () => {
  const geometryOf = (): FindingGeometry => ({ side: 'left', zone: 'lower', region: { x: 0.7, y: 0.6, width: 0.2, height: 0.15 } });

  test('appends a sentence with confidence, side and zone after the model\'s findings text', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: 'The lungs are clear.', impression: 'Left pleural effusion.' };
    const draft = composeDraft(result, { composedAt, geometryOf });
    expect(draft.sections.findings).toBe('The lungs are clear.\nPleural effusion in the left lower zone (high confidence).');
  });

  test('drops the model\'s sentence that negates a positive finding and adds the finding\'s sentence', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: 'No pleural effusion. No pneumothorax.', impression: 'Normal.' };
    const draft = composeDraft(result, { composedAt, geometryOf });
    expect(draft.sections.findings).toBe('No pneumothorax.\nPleural effusion in the left lower zone (high confidence).');
    expect(draft.textEdits).toContainEqual({ section: 'findings', rule: 'negates-positive', original: 'No pleural effusion.', replacement: null, detail: 'the classifier calls pleural effusion positive' });
  });

  test('adds nothing for a finding the model\'s text already asserts, nor for negative findings', () => {
    const result = analysisResult(randomKey(), 1, [fixtureImage()]);
    result.images[0]!.text = { findings: 'Small left pleural effusion.', impression: 'Left pleural effusion.' };
    expect(composeDraft(result, { composedAt, geometryOf }).sections.findings).toBe('Small left pleural effusion.');
  });

  test('writes one sentence for a finding positive on two images, from the more probable one', () => {
    const images = [fixtureImage(), fixtureImage()];
    const result = analysisResult(randomKey(), 1, images);
    for (const image of result.images) image.text = { findings: 'Heart size is normal.', impression: '' };
    result.images[1]!.findings[0]!.probability = 0.6;
    const draft = composeDraft(result, {
      composedAt,
      geometryOf: (instanceKey) => ({ side: instanceKey === images[0]!.instanceKey ? 'right' : 'left', zone: 'lower', region: null }),
    });
    expect(draft.sections.findings).toBe('Heart size is normal.\nPleural effusion in the right lower zone (high confidence).');
  });

  test('writes sentences that ground to the finding they were written for', () => {
    const images = [fixtureImage()];
    const result = analysisResult(randomKey(), 1, images);
    result.images[0]!.text = { findings: 'The lungs are clear.', impression: '' };
    const draft = composeDraft(result, { composedAt, geometryOf });
    const sentences = groundSentences(
      draft.sections,
      draft.findings.map((f) => ({ ...f, sopInstanceUid: '1.2.3.4' })),
    );
    const grounded = ['Pleural effusion in the left lower zone (high confidence).', { code: 'pleural-effusion', sopInstanceUid: '1.2.3.4', region: geometryOf().region }];
    expect(sentences.filter((s) => s.finding).map((s) => [s.section, s.text, s.finding])).toEqual([
      ['findings', ...grounded],
      ['impression', ...grounded],
    ]);
  });
});

describe('findingSentence', () => {
  test.each([
    [{ side: 'right', zone: 'upper' }, 'Lung nodule in the right upper zone (moderate confidence).'],
    [{ side: 'left', zone: null }, 'Lung nodule on the left (moderate confidence).'],
    [{ side: 'bilateral', zone: 'lower' }, 'Lung nodule, bilateral, lower zones (moderate confidence).'],
    [{ side: 'bilateral', zone: null }, 'Lung nodule, bilateral (moderate confidence).'],
    [{ side: 'midline', zone: null }, 'Lung nodule (moderate confidence).'],
    [{ side: null, zone: 'upper' }, 'Lung nodule (moderate confidence).'],
  ] as const)('words a finding at %o as %j', (where, sentence) => {
    expect(findingSentence({ display: 'lung nodule', confidence: 'moderate', ...where })).toBe(sentence);
  });
});

describe('reportDraftSchema', () => {
  test('reads a draft stored before findings had confidence, side, zone and region', () => {
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), { composedAt });
    const stored = JSON.parse(JSON.stringify(draft)) as { findings: Array<Record<string, unknown>> };
    for (const finding of stored.findings) for (const key of ['confidence', 'side', 'zone', 'region']) delete finding[key];
    const parsed = reportDraftSchema.parse(stored);
    expect(parsed.findings.map((f) => [f.confidence, f.side, f.zone, f.region])).toEqual([
      ['high', null, null, null],
      ['moderate', null, null, null],
    ]);
  });

  test('refuses a finding with a side it does not know', () => {
    const draft = composeDraft(analysisResult(randomKey(), 1, [fixtureImage()]), { composedAt });
    const stored = { ...draft, findings: [{ ...draft.findings[0]!, side: 'anterior' }] };
    expect(reportDraftSchema.safeParse(stored).success).toBe(false);
  });

  describe('the clinical question', () => {
    const withIndication = (indication: string | undefined, images = [fixtureImage()]) => {
      const result = analysisResult(randomKey(), 1, images);
      return indication === undefined ? result : { ...result, indication };
    };

    test('shows the indication as its own section and first in the text', () => {
      const draft = composeDraft(withIndication('SOB, fever, ?pneumonia'), { composedAt });
      expect(draft.sections.indication).toBe('SOB, fever, ?pneumonia');
      expect(draft.text).toBe(`${AI_DRAFT_DISCLAIMER}\n\nINDICATION:\nSOB, fever, ?pneumonia\n\nFINDINGS:\nBlunting of the right costophrenic angle.\n\nIMPRESSION:\nRight pleural effusion.`);
      expect(reportDraftSchema.parse(draft)).toEqual(draft);
    });

    test('answers "? pneumothorax" with an explicit "No pneumothorax." when the classifier calls it negative', () => {
      const draft = composeDraft(withIndication('? pneumothorax'), { composedAt });
      expect(draft.sections.impression).toBe('No pneumothorax.\nRight pleural effusion.');
      expect(draft.textEdits!.at(-1)).toMatchObject({ section: 'impression', rule: 'answers-question', replacement: 'No pneumothorax.' });
    });

    test('states the positive finding asked about first', () => {
      const result = withIndication('r/o effusion');
      result.images[0]!.text = { findings: 'Blunting of the right costophrenic angle.', impression: 'No acute change. Right pleural effusion.' };
      const draft = composeDraft(result, { composedAt });
      expect(draft.sections.impression).toBe('Right pleural effusion.\nNo acute change.');
    });

    test('the answer never contradicts the findings: grounding links the answer to no negative finding', () => {
      const draft = composeDraft(withIndication('? pneumothorax'), { composedAt });
      const sentences = groundSentences(draft.sections, draft.findings.map((f) => ({ ...f, sopInstanceUid: '1.2.3' })));
      expect(sentences.find((s) => s.text === 'No pneumothorax.')?.finding).toBeNull();
    });

    test('has no indication section, and the impression is unchanged, without a question', () => {
      const draft = composeDraft(withIndication(undefined), { composedAt });
      expect(draft.sections).toEqual({ findings: 'Blunting of the right costophrenic angle.', impression: 'Right pleural effusion.' });
      expect(draft.text).not.toContain('INDICATION');
    });
  });
});
