import { describe, expect, test } from 'vitest';
import { groundedSentenceSchema } from '@cxr/contracts';
import { FINDING_CODES, generatePhantom, labelReport } from '@cxr/phantom';
import { groundSentences, type GroundingFinding } from './grounding.ts';

const FRONTAL = '1.2.826.0.1.3680043.8.498.1.1';
const LATERAL = '1.2.826.0.1.3680043.8.498.1.2';

/** The reference model's display names. */
const DISPLAY: Record<string, string> = {
  nodule: 'Lung nodule',
  mass: 'Lung mass',
  pleural_effusion: 'Pleural effusion',
  cardiomegaly: 'Cardiomegaly',
  pneumothorax: 'Pneumothorax',
};

/** One finding per reference code on one image; `positive` lists the positive ones with their side. */
function modelFindings(positive: Record<string, GroundingFinding['side']>, sopInstanceUid = FRONTAL): GroundingFinding[] {
  return FINDING_CODES.map((code, i) => ({
    code,
    display: DISPLAY[code]!,
    sopInstanceUid,
    positive: code in positive,
    side: positive[code] ?? null,
    zone: null,
    region: { x: 0.1 * i, y: 0.2, width: 0.1, height: 0.1 },
    probability: code in positive ? 0.9 : 0.05,
  }));
}

const linkedCodes = (sections: { findings: string; impression: string }, findings: GroundingFinding[]) =>
  groundSentences(sections, findings).map((s) => [s.section, s.text, s.finding?.code ?? null]);

describe('groundSentences on the generator\'s own report text', () => {
  test.each([
    [
      1,
      [
        ['findings', 'A small left pleural effusion blunting the costophrenic angle.', 'pleural_effusion'],
        ['findings', 'The heart is enlarged, with a cardiothoracic ratio of 0.63.', 'cardiomegaly'],
        ['findings', 'No focal lung lesion.', null],
        ['findings', 'No pneumothorax.', null],
        ['impression', 'Left pleural effusion.', 'pleural_effusion'],
        ['impression', 'Cardiomegaly.', 'cardiomegaly'],
      ],
    ],
    [
      2,
      [
        ['findings', 'The lungs are clear.', null],
        ['findings', 'No focal lung lesion.', null],
        ['findings', 'No pleural effusion.', null],
        ['findings', 'No pneumothorax.', null],
        ['findings', 'Heart size is normal.', null],
        ['impression', 'No acute cardiopulmonary abnormality.', null],
      ],
    ],
    [
      4,
      [
        ['findings', 'A 37 mm mass in the right lower zone.', 'mass'],
        ['findings', 'A 8 mm left apical pneumothorax with a visible pleural line.', 'pneumothorax'],
        ['findings', 'No pleural effusion.', null],
        ['findings', 'Heart size is normal.', null],
        ['impression', 'Right lower zone mass.', 'mass'],
        ['impression', 'Left pneumothorax.', 'pneumothorax'],
      ],
    ],
    [
      34,
      [
        ['findings', 'A 10 mm nodule in the right lower zone.', 'nodule'],
        ['findings', 'A moderate left pleural effusion.', 'pleural_effusion'],
        ['findings', 'No pneumothorax.', null],
        ['findings', 'Heart size is normal.', null],
        ['impression', 'Right lower zone nodule.', 'nodule'],
        ['impression', 'Left pleural effusion.', 'pleural_effusion'],
      ],
    ],
  ])('links each sentence of phantom %i to the finding it asserts', (seed, expected) => {
    const phantom = generatePhantom({ seed, size: 16 });
    const positive = Object.fromEntries(phantom.findings.map((f) => [f.code, f.side]));
    expect(linkedCodes(phantom.reportText, modelFindings(positive))).toEqual(expected);
  });

  test('links exactly the findings the generator\'s labeller reads from the text, on 60 seeded phantoms', () => {
    for (let seed = 100; seed < 160; seed++) {
      const phantom = generatePhantom({ seed, size: 16 });
      const positive = Object.fromEntries(phantom.findings.map((f) => [f.code, f.side]));
      const sentences = groundSentences(phantom.reportText, modelFindings(positive));
      const linked = new Set(sentences.flatMap((s) => (s.finding ? [s.finding.code] : [])));
      const labels = labelReport(`${phantom.reportText.findings} ${phantom.reportText.impression}`);
      expect([...linked].sort(), `seed ${seed}`).toEqual(FINDING_CODES.filter((c) => labels[c] === 1).sort());
      for (const s of sentences) expect(groundedSentenceSchema.safeParse(s).success).toBe(true);
    }
  });
});

describe('groundSentences on edited text', () => {
  const positives = modelFindings({ pleural_effusion: 'right', pneumothorax: 'left', nodule: 'right', cardiomegaly: 'midline' });

  test.each([
    ['No pneumothorax.', null],
    ['There is no pleural effusion or pneumothorax.', null],
    ['Small right pleural effusion without pneumothorax.', 'pleural_effusion'],
    ['No pneumothorax, but a small right pleural effusion.', 'pleural_effusion'],
    ['Pneumothorax is not seen.', null],
    ['Pneumothorax: none.', null],
    ['The previously noted nodule has resolved.', null],
    ['A small left pneumothorax cannot be excluded.', 'pneumothorax'],
    ['Cannot rule out a right upper zone nodule.', 'nodule'],
    ['No change in the right pleural effusion.', 'pleural_effusion'],
    ['Heart size is normal.', null],
    ['The heart is not enlarged.', null],
    ['Enlarged cardiac silhouette.', 'cardiomegaly'],
    ['The heart appears enlarged.', 'cardiomegaly'],
    ['Blunting of the right costophrenic angle.', 'pleural_effusion'],
    ['RIGHT PLEURAL EFFUSION.', 'pleural_effusion'],
    ['A 1.5 cm nodule in the right upper zone, approx. 2 cm from the hilum.', 'nodule'],
    ['Pulmonary nodularity in the right lung.', 'nodule'],
    ['Right pleural effusion and cardiomegaly.', 'pleural_effusion'],
    ['Cardiomegaly with a small right pleural effusion.', 'cardiomegaly'],
    ['Mass in the left lower zone.', null], // the model called the mass negative
    ['The lungs are clear.', null],
    ['No acute cardiopulmonary abnormality detected by the AI model.', null],
    ['Compared with the prior study, the effusion is larger.', 'pleural_effusion'],
  ])('links %j to %s', (sentence, code) => {
    const [grounded] = groundSentences({ findings: sentence, impression: '' }, positives);
    expect(grounded).toMatchObject({ section: 'findings', text: sentence, start: 0, end: sentence.length });
    expect(grounded!.finding?.code ?? null).toBe(code);
  });

  test('carries the sentence\'s offsets in its section and the finding\'s image and region', () => {
    const sections = { findings: 'The lungs are clear.\nSmall left pneumothorax.', impression: 'Left pneumothorax.' };
    const sentences = groundSentences(sections, positives);
    expect(sentences).toEqual([
      { section: 'findings', text: 'The lungs are clear.', start: 0, end: 20, finding: null },
      { section: 'findings', text: 'Small left pneumothorax.', start: 21, end: 45, finding: { code: 'pneumothorax', sopInstanceUid: FRONTAL, region: { x: 0.4, y: 0.2, width: 0.1, height: 0.1 } } },
      { section: 'impression', text: 'Left pneumothorax.', start: 0, end: 18, finding: { code: 'pneumothorax', sopInstanceUid: FRONTAL, region: { x: 0.4, y: 0.2, width: 0.1, height: 0.1 } } },
    ]);
  });

  test('matches a finding of another model by its display name or its code in words', () => {
    const findings: GroundingFinding[] = [
      { code: 'lung-opacity', display: 'Airspace opacity', sopInstanceUid: FRONTAL, positive: true, side: 'left', zone: 'lower', region: null, probability: 0.8 },
      { code: 'rib_fracture', display: 'Fracture', sopInstanceUid: FRONTAL, positive: true, side: 'right', zone: null, region: null, probability: 0.7 },
    ];
    expect(linkedCodes({ findings: 'Airspace opacity at the left base. Lung opacity on the left. No fracture. Right rib fracture.', impression: '' }, findings)).toEqual([
      ['findings', 'Airspace opacity at the left base.', 'lung-opacity'],
      ['findings', 'Lung opacity on the left.', 'lung-opacity'],
      ['findings', 'No fracture.', null],
      ['findings', 'Right rib fracture.', 'rib_fracture'],
    ]);
  });

  test('matches a code written with hyphens to the reference model\'s terms', () => {
    const findings: GroundingFinding[] = [{ code: 'pleural-effusion', display: 'Effusion', sopInstanceUid: FRONTAL, positive: true, side: 'right', zone: 'lower', region: null, probability: 0.9 }];
    expect(groundSentences({ findings: 'Blunting of the right costophrenic angle.', impression: '' }, findings)[0]!.finding?.code).toBe('pleural-effusion');
  });
});

describe('groundSentences with the finding on several images', () => {
  const effusion = (sopInstanceUid: string, side: GroundingFinding['side'], probability: number): GroundingFinding => ({
    code: 'pleural_effusion',
    display: 'Pleural effusion',
    sopInstanceUid,
    positive: true,
    side,
    zone: 'lower',
    region: null,
    probability,
  });
  const findings = [effusion(FRONTAL, 'left', 0.9), effusion(LATERAL, 'right', 0.7), { ...effusion('1.2.3.9', 'right', 0.99), positive: false }];

  test.each([
    ['Right pleural effusion.', LATERAL],
    ['Left pleural effusion.', FRONTAL],
    ['Pleural effusion.', FRONTAL],
    ['Bilateral pleural effusions.', FRONTAL],
  ])('links %j to the image whose side matches, else the most probable positive one', (sentence, uid) => {
    expect(groundSentences({ findings: sentence, impression: '' }, findings)[0]!.finding?.sopInstanceUid).toBe(uid);
  });
});

describe('groundSentences on arbitrary text', () => {
  test.each([
    ['empty sections', { findings: '', impression: '' }],
    ['white space only', { findings: ' \n\t ', impression: '\n' }],
    ['punctuation only', { findings: '...!?;;::', impression: '. . .' }],
    ['regular-expression characters', { findings: '(*+?[effusion]{2}\\', impression: '$^|' }],
    ['a very long line', { findings: 'no effusion; '.repeat(2000), impression: 'pneumothorax '.repeat(2000) }],
  ])('never throws on %s', (_name, sections) => {
    const sentences = groundSentences(sections, modelFindings({ pleural_effusion: 'right', pneumothorax: 'left' }));
    for (const s of sentences) expect(sections[s.section].slice(s.start, s.end)).toBe(s.text);
  });

  test('takes display names with regular-expression characters literally, and ignores empty ones', () => {
    const findings: GroundingFinding[] = [
      { code: '', display: '', sopInstanceUid: FRONTAL, positive: true, side: null, zone: null, region: null, probability: 0.5 },
      { code: '(?:', display: 'Odd [shadow]+ (x', sopInstanceUid: FRONTAL, positive: true, side: null, zone: null, region: null, probability: 0.5 },
    ];
    expect(linkedCodes({ findings: 'An odd [shadow]+ (x here. An odd shadow here.', impression: '' }, findings)).toEqual([
      ['findings', 'An odd [shadow]+ (x here.', '(?:'],
      ['findings', 'An odd shadow here.', null],
    ]);
  });
});

describe('location conflicts between the text and the heatmap', () => {
  const nodule = (side: GroundingFinding['side'], zone: GroundingFinding['zone']): GroundingFinding[] =>
    modelFindings({ nodule: side }).map((f) => (f.code === 'nodule' ? { ...f, zone } : f));
  const conflictOf = (text: string, findings: GroundingFinding[]) => groundSentences({ findings: text, impression: '' }, findings)[0]?.conflict;

  test('flags a sentence that puts the nodule in another zone than its heatmap (the "right lower zone" bug)', () => {
    expect(conflictOf('A 26 mm nodule in the right lower zone.', nodule('right', 'upper'))).toBe(
      'Location disagrees: the text says lower zone, the heatmap points at the upper zone.',
    );
  });

  test('flags another side, and both at once', () => {
    expect(conflictOf('Left upper zone nodule.', nodule('right', 'upper'))).toBe('Location disagrees: the text says left, the heatmap points at the right.');
    expect(conflictOf('Left basal nodule.', nodule('right', 'upper'))).toMatch(/says left.*says lower zone/);
  });

  test.each([
    ['A 26 mm nodule in the right upper zone.', 'right', 'upper'],
    ['A nodule.', 'right', 'upper'],
    ['Bilateral nodules.', 'right', 'upper'],
    ['A right apical nodule.', 'right', 'upper'],
    ['A nodule in the right upper or middle zone.', 'right', 'upper'],
    ['A right upper zone nodule.', 'right', null],
  ] as const)('no conflict for "%s" over a %s %s heatmap', (text, side, zone) => {
    expect(conflictOf(text, nodule(side, zone))).toBeUndefined();
  });

  test('every sentence, conflicting or not, still matches the contract', () => {
    for (const s of groundSentences({ findings: 'A nodule in the left lower zone. No effusion.', impression: 'Left nodule.' }, nodule('right', 'upper'))) {
      expect(groundedSentenceSchema.parse(s)).toEqual(s);
    }
  });
});
