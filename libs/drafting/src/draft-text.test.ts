import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { composeDraftText, type DraftTextFinding, type DraftTextImage } from './draft-text.ts';
import { NO_FINDINGS_TEXT, NORMAL_STUDY_IMPRESSION, REFERENCE_WORDING } from './sentence-grammar.ts';
import { checkReportText } from './text-checks.ts';

const DISPLAY: Record<string, string> = {
  nodule: 'Lung nodule', mass: 'Lung mass', pleural_effusion: 'Pleural effusion', cardiomegaly: 'Cardiomegaly', pneumothorax: 'Pneumothorax',
};

/** The reference model's five findings on one image; `positive` lists the codes called positive. */
function findingsOf(instanceKey: string, positive: Partial<Record<string, Partial<DraftTextFinding>>>): DraftTextFinding[] {
  return Object.keys(DISPLAY).map((code) => ({
    instanceKey, code, display: DISPLAY[code]!, probability: code in positive ? 0.9 : 0.05, positive: code in positive,
    confidence: 'high', side: null, zone: null, region: null, ...positive[code],
  }));
}

function image(text: { findings: string; impression: string; complete?: boolean }, extra: Partial<DraftTextImage> = {}): DraftTextImage {
  return { instanceKey: 'img1', width: 1000, height: 1000, text, ...extra };
}

const draft = (text: { findings: string; impression: string; complete?: boolean }, positive: Parameters<typeof findingsOf>[1], extra: Partial<DraftTextImage> = {}) =>
  composeDraftText([image(text, extra)], findingsOf('img1', positive), REFERENCE_WORDING);

const ISSUE_FINDINGS =
  'A 49 mm mass in the right upper zone. A large mm mass in the right upper zone. A large mm mass in the left upper zone. ' +
  'A large mm mass in the left upper zone. A large right pleural effusion. No pneumothorax. Heart size is normal.';

describe('composeDraftText: the issue\'s real-image draft', () => {
  const result = draft({ findings: ISSUE_FINDINGS, impression: 'Right upper zone mass. Right pleural effusion.' }, { mass: { side: 'right', zone: 'upper' } });

  test('keeps one mass sentence without the unmeasured 49 mm, drops the malformed and negative ones, keeps the true negatives', () => {
    expect(result.sections.findings).toBe('A mass in the right upper zone. No pneumothorax. Heart size is normal.');
  });

  test('its impression states the mass and not the effusion the classifier calls negative', () => {
    expect(result.sections.impression).toBe('Right upper zone mass.');
  });

  test('records each change with its rule', () => {
    expect(result.edits.filter((e) => e.section === 'findings').map((e) => [e.rule, e.original, e.replacement])).toEqual([
      ['unmeasured-size', 'A 49 mm mass in the right upper zone.', 'A mass in the right upper zone.'],
      ['malformed', 'A large mm mass in the right upper zone.', null],
      ['malformed', 'A large mm mass in the left upper zone.', null],
      ['malformed', 'A large mm mass in the left upper zone.', null],
      ['asserts-negative', 'A large right pleural effusion.', null],
    ]);
    expect(result.edits.find((e) => e.original === 'A large mm mass in the right upper zone.')!.detail).toBe('a unit without a number ("mm")');
  });
});

describe('composeDraftText: rules', () => {
  test('A large mm mass in the right upper zone. is replaced by the templated sentence when nothing else states the mass', () => {
    const { sections, edits } = draft({ findings: 'A large mm mass in the right upper zone. No pneumothorax.', impression: 'Right upper zone mass.' }, { mass: { side: 'right', zone: 'upper' } });
    expect(sections.findings).toBe('Lung mass in the right upper zone (high confidence). No pneumothorax.');
    expect(edits[0]).toMatchObject({ rule: 'malformed', replacement: 'Lung mass in the right upper zone (high confidence).' });
  });

  test('A large mm mass in the left upper zone. is dropped when the classifier calls the mass negative', () => {
    const { sections, edits } = draft({ findings: 'A large mm mass in the left upper zone. Heart size is normal.', impression: 'No acute cardiopulmonary abnormality.' }, {});
    expect(sections).toEqual({ findings: 'Heart size is normal.', impression: 'No acute cardiopulmonary abnormality.' });
    expect(edits.map((e) => e.rule)).toEqual(['malformed']);
  });

  test('A large right pleural effusion. is dropped when the classifier calls the effusion negative', () => {
    const { sections } = draft({ findings: 'A large right pleural effusion. No pneumothorax.', impression: 'Right pleural effusion.' }, {});
    expect(sections).toEqual({ findings: 'No pneumothorax.', impression: NORMAL_STUDY_IMPRESSION });
  });

  test('No pneumothorax. is dropped when the classifier calls the pneumothorax positive', () => {
    const { sections, edits } = draft({ findings: 'No pneumothorax. Heart size is normal.', impression: 'Left pneumothorax.' }, { pneumothorax: { side: 'left', zone: 'upper' } });
    expect(sections.findings).toBe('Heart size is normal.\nPneumothorax in the left upper zone (high confidence).');
    expect(edits[0]).toMatchObject({ rule: 'negates-positive', original: 'No pneumothorax.', replacement: null });
  });

  test('No focal lung lesion. is dropped when a nodule is positive, and The lungs are clear. too', () => {
    const { sections } = draft({ findings: 'The lungs are clear. No focal lung lesion. No pleural effusion.', impression: 'Right upper zone nodule.' }, { nodule: { side: 'right', zone: 'upper' } });
    expect(sections.findings).toBe('No pleural effusion.\nLung nodule in the right upper zone (high confidence).');
  });

  test('No acute cardiopulmonary abnormality. is replaced in the impression when a finding is positive', () => {
    const { sections, edits } = draft({ findings: 'The heart is enlarged.', impression: 'No acute cardiopulmonary abnormality.' }, { cardiomegaly: { side: 'midline' } });
    expect(sections.impression).toBe('Cardiomegaly (high confidence).');
    expect(edits.map((e) => e.rule)).toEqual(['negates-positive', 'missing-positive']);
  });

  test('Heart size is normal. said twice is kept once', () => {
    const { sections, edits } = draft({ findings: 'Heart size is normal. No pneumothorax. Heart size is normal.', impression: 'No acute cardiopulmonary abnormality.' }, {});
    expect(sections.findings).toBe('Heart size is normal. No pneumothorax.');
    expect(edits).toEqual([{ section: 'findings', rule: 'repeated', original: 'Heart size is normal.', replacement: null, detail: 'the same sentence is already in the section' }]);
  });

  test('A 20 mm nodule in the left lower zone. after a right upper zone nodule is a restatement and is dropped', () => {
    const { sections, edits } = draft({ findings: 'A nodule in the right upper zone. A 20 mm nodule in the left lower zone.', impression: 'Right upper zone nodule.' }, { nodule: { side: 'right', zone: 'upper' } });
    expect(sections.findings).toBe('A nodule in the right upper zone.');
    expect(edits.map((e) => e.rule)).toEqual(['restated-finding']);
  });

  test('the other side of a bilateral effusion is not a restatement', () => {
    const { sections } = draft(
      { findings: 'A large right pleural effusion. A small left pleural effusion blunting the costophrenic angle.', impression: 'Right pleural effusion. Left pleural effusion.' },
      { pleural_effusion: { side: 'bilateral', zone: 'lower' } },
    );
    expect(sections.findings).toBe('A large right pleural effusion. A small left pleural effusion blunting the costophrenic angle.');
    expect(sections.impression).toBe('Right pleural effusion. Left pleural effusion.');
  });

  test('A 14 mm nodule in the right upper zone. gets the size measured on the image', () => {
    const region = { x: 0.2, y: 0.2, width: 0.1, height: 0.1 };
    const { sections, edits } = draft({ findings: 'A 14 mm nodule in the right upper zone.', impression: 'Right upper zone nodule.' }, { nodule: { side: 'right', zone: 'upper', region } }, { pixelSpacingMm: 0.2 });
    expect(sections.findings).toBe('A 20 mm nodule in the right upper zone.');
    expect(edits).toEqual([{ section: 'findings', rule: 'measured-size', original: 'A 14 mm nodule in the right upper zone.', replacement: 'A 20 mm nodule in the right upper zone.', detail: 'measured on the image: 20 mm' }]);
  });

  test('a size the model wrote that equals the measured one is left as it is', () => {
    const region = { x: 0.2, y: 0.2, width: 0.1, height: 0.1 };
    const { sections, edits } = draft({ findings: 'A 20 mm nodule in the right upper zone.', impression: 'Right upper zone nodule.' }, { nodule: { side: 'right', zone: 'upper', region } }, { pixelSpacingMm: 0.2 });
    expect(sections.findings).toBe('A 20 mm nodule in the right upper zone.');
    expect(edits).toEqual([]);
  });

  test('A findings sentence in the impression is malformed there', () => {
    const { sections, edits } = draft({ findings: 'The lungs are clear.', impression: 'No pleural effusion.' }, {});
    expect(sections.impression).toBe(NORMAL_STUDY_IMPRESSION);
    expect(edits[0]).toMatchObject({ section: 'impression', rule: 'malformed', detail: "not one of the model's impression sentence forms" });
  });

  test('A 49 mm mass in the right upper zone. loses its size on an image without pixel spacing', () => {
    const region = { x: 0.2, y: 0.2, width: 0.1, height: 0.1 };
    const { sections } = draft({ findings: 'A 49 mm mass in the right upper zone.', impression: 'Right upper zone mass.' }, { mass: { side: 'right', zone: 'upper', region } });
    expect(sections.findings).toBe('A mass in the right upper zone.');
  });

  test('A 9 mm left apical pneumothorax with a visible pleural line. loses its size: a rim depth is never measured', () => {
    const { sections, edits } = draft(
      { findings: 'A 9 mm left apical pneumothorax with a visible pleural line.', impression: 'Left pneumothorax.' },
      { pneumothorax: { side: 'left', zone: 'upper', region: { x: 0.6, y: 0.1, width: 0.2, height: 0.3 } } },
      { pixelSpacingMm: 0.2 },
    );
    expect(sections.findings).toBe('A left apical pneumothorax with a visible pleural line.');
    expect(edits[0]).toMatchObject({ rule: 'unmeasured-size', detail: 'the size was not measured on the image' });
  });

  test('The heart is enlarged, with a cardiothoracic ratio of 0.54. loses its unmeasured ratio', () => {
    const { sections } = draft({ findings: 'The heart is enlarged, with a cardiothoracic ratio of 0.54.', impression: 'Cardiomegaly.' }, { cardiomegaly: { side: 'midline' } });
    expect(sections).toEqual({ findings: 'The heart is enlarged.', impression: 'Cardiomegaly.' });
  });

  test('a text decoded to maxLength without <eos> is dropped whole, and the positive findings are stated from the classifier', () => {
    const { sections, edits } = draft(
      { findings: 'A large left pleural effusion. No pneumothorax. Heart size is normal. A large left', impression: '', complete: false },
      { pleural_effusion: { side: 'left', zone: 'lower' } },
    );
    expect(sections).toEqual({ findings: 'Pleural effusion in the left lower zone (high confidence).', impression: 'Pleural effusion in the left lower zone (high confidence).' });
    expect(edits[0]).toMatchObject({ section: 'findings', rule: 'incomplete-text', replacement: null });
  });

  test('a text decoded to maxLength on a study with nothing positive leaves the no-text and normal-study sentences', () => {
    const { sections } = draft({ findings: 'The lungs are clear. No focal lung lesion. No', impression: '', complete: false }, {});
    expect(sections).toEqual({ findings: NO_FINDINGS_TEXT, impression: NORMAL_STUDY_IMPRESSION });
  });

  test('the impression gets a sentence for a positive finding the model\'s impression leaves out', () => {
    const { sections, edits } = draft(
      { findings: 'A large left pleural effusion. A 9 mm left apical pneumothorax with a visible pleural line.', impression: 'Left pleural effusion.' },
      { pleural_effusion: { side: 'left', zone: 'lower' }, pneumothorax: { side: 'left', zone: 'upper' } },
    );
    expect(sections.impression).toBe('Left pleural effusion.\nPneumothorax in the left upper zone (high confidence).');
    expect(edits.at(-1)).toEqual({ section: 'impression', rule: 'missing-positive', original: null, replacement: 'Pneumothorax in the left upper zone (high confidence).' });
  });

  test('an impression that does not say a study with nothing positive is normal becomes the normal-study sentence', () => {
    const { sections, edits } = composeDraftText([image({ findings: 'The lungs are clear.', impression: 'No pleural effusion.' })], findingsOf('img1', {}), null);
    expect(sections.impression).toBe(NORMAL_STUDY_IMPRESSION);
    expect(edits).toEqual([{ section: 'impression', rule: 'normal-impression', original: 'No pleural effusion.', replacement: NORMAL_STUDY_IMPRESSION, detail: 'no finding is positive: the impression says the study is normal' }]);
  });

  test('a well-formed text that agrees with the classifier is left exactly as it is, with no edits', () => {
    const text = { findings: 'A large left pleural effusion. No focal lung lesion. No pneumothorax. Heart size is normal.', impression: 'Left pleural effusion.' };
    expect(draft(text, { pleural_effusion: { side: 'left', zone: 'lower' } })).toEqual({ sections: text, edits: [] });
  });

  test('an image with no findings at all (flagged before analysis) contributes no assertion', () => {
    const images = [image({ findings: 'A 20 mm nodule in the right upper zone.', impression: 'Right upper zone nodule.' })];
    const { sections } = composeDraftText(images, [], REFERENCE_WORDING);
    expect(sections).toEqual({ findings: NO_FINDINGS_TEXT, impression: NORMAL_STUDY_IMPRESSION });
  });

  test('a sentence negating a finding positive on another image of the study is dropped', () => {
    const images = [image({ findings: 'No pneumothorax.', impression: 'No acute cardiopulmonary abnormality.' }), image({ findings: 'A left apical pneumothorax with a visible pleural line.', impression: 'Left pneumothorax.' }, { instanceKey: 'img2' })];
    const findings = [...findingsOf('img1', {}), ...findingsOf('img2', { pneumothorax: { side: 'left', zone: 'upper' } })];
    const { sections } = composeDraftText(images, findings, REFERENCE_WORDING);
    expect(sections).toEqual({ findings: 'A left apical pneumothorax with a visible pleural line.', impression: 'Left pneumothorax.' });
  });
});

describe('composeDraftText: a model without a registered wording', () => {
  const free = (text: { findings: string; impression: string }, positive: Parameters<typeof findingsOf>[1]) => composeDraftText([image(text)], findingsOf('img1', positive), null);

  test('keeps free wording that passes the structural checks', () => {
    expect(free({ findings: 'Blunting of the left costophrenic angle.', impression: 'Left pleural effusion.' }, { pleural_effusion: { side: 'left', zone: 'lower' } }).sections.findings).toBe(
      'Blunting of the left costophrenic angle.',
    );
  });

  test.each([
    ['a unit without a number', 'A large mm nodule in the right upper zone.'],
    ['a number without a unit', 'A 12 nodule in the right upper zone.'],
    ['a word twice in a row', 'A nodule nodule in the right upper zone.'],
    ['a dangling word', 'A nodule in the right upper zone of the.'],
  ])('replaces a sentence with %s by the templated one', (_, sentence) => {
    const { sections, edits } = free({ findings: sentence, impression: 'Nodule.' }, { nodule: { side: 'right', zone: 'upper' } });
    expect(sections.findings).toBe('Lung nodule in the right upper zone (high confidence).');
    expect(edits[0]).toMatchObject({ rule: 'malformed', original: sentence });
  });

  test('a size in free wording that was not measured makes way for the templated sentence', () => {
    const { sections, edits } = free({ findings: 'Nodule measuring 12 mm in the right upper zone.', impression: 'Nodule.' }, { nodule: { side: 'right', zone: 'upper' } });
    expect(sections.findings).toBe('Lung nodule in the right upper zone (high confidence).');
    expect(edits[0]).toMatchObject({ rule: 'unmeasured-size', original: 'Nodule measuring 12 mm in the right upper zone.' });
  });
});

describe('composeDraftText: by construction', () => {
  // Whatever the decoder writes, the final text passes every check. Texts of random words from the
  // reference decoder's own vocabulary, and phantom-style sentences spliced at random, against
  // random classifier calls and geometry: a broken decoder's worst.
  const manifest = JSON.parse(readFileSync(new URL('../../../models/reference-cxr/manifest.json', import.meta.url), 'utf8')) as { decoder: { vocabulary: string[] } };
  const words = manifest.decoder.vocabulary.filter((w) => !w.startsWith('<'));
  const sentences = [
    'A 12 mm nodule in the right upper zone.', 'A 45 mm mass in the left lower zone.', 'A large right pleural effusion.',
    'A small left pleural effusion blunting the costophrenic angle.', 'A 20 mm right apical pneumothorax with a visible pleural line.',
    'The heart is enlarged, with a cardiothoracic ratio of 0.61.', 'The lungs are clear.', 'No focal lung lesion.', 'No pleural effusion.',
    'No pneumothorax.', 'Heart size is normal.', 'Right upper zone nodule.', 'Left pleural effusion.', 'Cardiomegaly.', 'No acute cardiopulmonary abnormality.',
  ];
  let state = 12345;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const text = (): string => {
    const parts: string[] = [];
    for (let n = Math.floor(random() * 8); n > 0; n--) {
      parts.push(random() < 0.5 ? pick(sentences) : `${Array.from({ length: 1 + Math.floor(random() * 9) }, () => pick(words)).join(' ')}.`.replace(/ ([.,])/g, '$1'));
    }
    return parts.join(' ');
  };

  test.each([
    ['the reference wording', REFERENCE_WORDING],
    ['no registered wording', null],
  ])('leaves no contradicting, repeated or malformed sentence and no unmeasured size, on 500 random texts, with %s', (_, wording) => {
    for (let i = 0; i < 500; i++) {
      const positive: Parameters<typeof findingsOf>[1] = {};
      for (const code of Object.keys(DISPLAY)) {
        if (random() < 0.3) positive[code] = { side: pick(['right', 'left', 'bilateral', 'midline', null] as const), zone: pick(['upper', 'middle', 'lower', null] as const), region: random() < 0.5 ? { x: 0.2, y: 0.2, width: random() * 0.2, height: random() * 0.2 } : null };
      }
      const images = [image({ findings: text(), impression: text(), complete: random() < 0.9 }, random() < 0.5 ? { pixelSpacingMm: 0.1 + random() * 0.3 } : {})];
      const findings = findingsOf('img1', positive);
      const { sections } = composeDraftText(images, findings, wording);
      expect(checkReportText(sections, images, findings, wording), JSON.stringify({ text: images[0]!.text, sections })).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
    }
  });
});

describe('composeDraftText: the impression agrees with the findings', () => {
  test('Left lower zone mass. is dropped from the impression when the findings say right lower zone, and the mass is summarised as the findings place it', () => {
    const { sections, edits } = draft(
      { findings: 'A mass in the right lower zone. A large right pleural effusion.', impression: 'Left lower zone mass. Right pleural effusion.' },
      { mass: { side: 'left', zone: 'lower' }, pleural_effusion: { side: 'right', zone: 'lower' } },
    );
    expect(sections.impression).toBe('Right pleural effusion.\nLung mass in the right lower zone (high confidence).');
    expect(edits.filter((e) => e.section === 'impression').map((e) => e.rule)).toEqual(['disagrees-with-findings', 'missing-positive']);
  });

  test('Right middle zone mass. is dropped when the findings put the mass in the right upper zone', () => {
    const { edits } = draft({ findings: 'A mass in the right upper zone.', impression: 'Right middle zone mass.' }, { mass: { side: 'right', zone: 'upper' } });
    expect(edits[0]).toMatchObject({ section: 'impression', rule: 'disagrees-with-findings', original: 'Right middle zone mass.' });
  });

  test('either side of a bilateral effusion agrees with the findings', () => {
    const { sections, edits } = draft(
      { findings: 'A large right pleural effusion. A large left pleural effusion.', impression: 'Left pleural effusion.' },
      { pleural_effusion: { side: 'bilateral', zone: 'lower' } },
    );
    expect(sections.impression).toBe('Left pleural effusion.');
    expect(edits).toEqual([]);
  });
});
