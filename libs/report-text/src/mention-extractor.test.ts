import { describe, expect, test } from 'vitest';
import type { MentionCode } from './finding-codes.ts';
import { extractMentions, type Mention } from './mention-extractor.ts';

function mentionOf(sentence: string, code: MentionCode): Mention {
  const found = extractMentions(sentence, 'findings').find((m) => m.code === code);
  if (!found) throw new Error(`no ${code} mention in "${sentence}"`);
  return found;
}

const statusOf = (sentence: string, code: MentionCode): string => mentionOf(sentence, code).status;

describe('negation', () => {
  test.each([
    ['No pleural effusion.', 'pleural_effusion'],
    ['There is no pneumothorax.', 'pneumothorax'],
    ['Lungs are clear without focal consolidation.', 'consolidation'],
    ['Negative for pneumothorax.', 'pneumothorax'],
    ['The costophrenic angles are free of effusion.', 'pleural_effusion'],
    ['The lungs are clear of infiltrate.', 'consolidation'],
    ['No evidence of pulmonary edema.', 'edema'],
    ['No radiographic evidence of pneumonia.', 'consolidation'],
    ['A pneumothorax is not seen.', 'pneumothorax'],
    ['The previously noted left effusion has resolved.', 'pleural_effusion'],
    ['Interval resolution of the right lower lobe atelectasis.', 'atelectasis'],
    ['Pneumonia is unlikely.', 'consolidation'],
    ['No definite pulmonary nodule.', 'nodule'],
    ['There is no focal airspace consolidation, pleural effusion or pneumothorax.', 'pneumothorax'],
    ['No mass or adenopathy.', 'mass'],
    ['The heart is not enlarged.', 'cardiomegaly'],
    ['Heart size is within normal limits.', 'cardiomegaly'],
    ['Normal cardiomediastinal silhouette.', 'cardiomegaly'],
    ['There is no focal opacity to suggest pneumonia.', 'consolidation'],
    ['No focal consolidation concerning for pneumonia.', 'consolidation'],
    ['No opacity consistent with pneumonia.', 'consolidation'],
    ['The basilar atelectasis and the small effusion have cleared.', 'atelectasis'],
    ['Pneumothorax: none.', 'pneumothorax'],
    ['The nodule previously seen in the left upper lobe is no longer visualized.', 'nodule'],
  ])('"%s" denies %s', (sentence, code) => {
    expect(statusOf(sentence, code as MentionCode)).toBe('absent');
  });

  test('a list after one negation is denied throughout', () => {
    const mentions = extractMentions('No pneumothorax, pleural effusion, or focal consolidation is identified.', 'findings');
    expect(mentions.filter((m) => m.code !== 'normal').map((m) => [m.code, m.status])).toEqual([
      ['pneumothorax', 'absent'],
      ['pleural_effusion', 'absent'],
      ['consolidation', 'absent'],
    ]);
  });

  test.each([
    ['No pneumothorax, but there is a small left pleural effusion.', 'pleural_effusion'],
    ['No effusion; however, the heart is enlarged.', 'cardiomegaly'],
    ['No pneumothorax. Small right effusion.', 'pleural_effusion'],
    ['Without change in the moderate right pleural effusion.', 'pleural_effusion'],
    ['No significant change in the left lower lobe consolidation.', 'consolidation'],
    ['The right lower lobe consolidation is unchanged, and no new opacity is seen.', 'consolidation'],
  ])('the negation does not reach past its clause or a pseudo-negation: "%s" asserts %s', (sentence, code) => {
    expect(statusOf(sentence, code as MentionCode)).toBe('present');
  });

  test.each([
    ['Corticated bony density over the lateral clavicle.'],
    ['Curvilinear densities over the breast shadows.'],
  ])('an opacity on a structure outside the lung is not a lung opacity: "%s"', (sentence) => {
    const codes = extractMentions(sentence, 'findings').map((m) => m.code);
    expect(codes).not.toContain('opacity');
    expect(codes).toContain('other');
  });

  test('a nodular opacity is reported as an opacity; a nodule is what the report calls a nodule', () => {
    const codes = extractMentions('Nodular opacity in the right lower lobe.', 'findings').map((m) => m.code);
    expect(codes).toContain('opacity');
    expect(codes).not.toContain('nodule');
  });

  test('a pericardial effusion is not a pleural effusion', () => {
    const codes = extractMentions('Small pericardial effusion.', 'findings').map((m) => m.code);
    expect(codes).not.toContain('pleural_effusion');
    expect(codes).toContain('other');
  });
});

describe('hedging', () => {
  test.each([
    ['Cannot exclude a small right pneumothorax.', 'pneumothorax', 'possible'],
    ['A small left pleural effusion cannot be excluded.', 'pleural_effusion', 'possible'],
    ['Retrocardiac opacity may represent atelectasis.', 'atelectasis', 'possible'],
    ['Findings are likely atelectasis.', 'atelectasis', 'probable'],
    ['Possible early pneumonia in the left base.', 'consolidation', 'possible'],
    ['Probable small bilateral pleural effusions.', 'pleural_effusion', 'probable'],
    ['Left basilar opacity, atelectasis versus pneumonia.', 'consolidation', 'possible'],
    ['Questionable nodule in the right upper lobe.', 'nodule', 'possible'],
    ['Findings suspicious for a left upper lobe mass.', 'mass', 'probable'],
    ['Borderline cardiomegaly.', 'cardiomegaly', 'probable'],
    ['The cardiac silhouette is borderline enlarged.', 'cardiomegaly', 'probable'],
    ['Interstitial opacities could reflect mild edema.', 'edema', 'possible'],
    ['A tiny pneumothorax cannot be entirely excluded.', 'pneumothorax', 'possible'],
    ['Hilar prominence could be due to a nodule.', 'nodule', 'possible'],
    ['Left basilar opacity, likely due to atelectasis.', 'atelectasis', 'probable'],
    ['Effusion is less likely.', 'pleural_effusion', 'possible'],
  ])('"%s" hedges %s (%s)', (sentence, code, certainty) => {
    const mention = mentionOf(sentence, code as MentionCode);
    expect(mention.status).toBe('uncertain');
    expect(mention.certainty).toBe(certainty);
  });

  test('both alternatives of an "or" are uncertain', () => {
    const mentions = extractMentions('Bibasilar opacities, atelectasis or infiltrate.', 'findings');
    expect(mentions.find((m) => m.code === 'atelectasis')?.status).toBe('uncertain');
    expect(mentions.find((m) => m.code === 'consolidation')?.status).toBe('uncertain');
    expect(mentions.find((m) => m.code === 'opacity')?.status).toBe('present');
  });

  test.each([
    ['There is a small left pleural effusion.', 'pleural_effusion'],
    ['Findings are consistent with pulmonary edema.', 'edema'],
    ['Stable mild cardiomegaly.', 'cardiomegaly'],
    ['The heart is moderately enlarged.', 'cardiomegaly'],
    ['Heart size remains slightly large.', 'cardiomegaly'],
    ['Enlargement of the cardiac silhouette.', 'cardiomegaly'],
    ['Heart size is not normal.', 'cardiomegaly'],
    ['Persistent right lower lobe infiltrate.', 'consolidation'],
    ['Small apical pneumothorax is again noted.', 'pneumothorax'],
  ])('"%s" asserts %s', (sentence, code) => {
    expect(statusOf(sentence, code as MentionCode)).toBe('present');
  });

  test('the cue that decided is reported as written', () => {
    expect(mentionOf('Pneumonia cannot be excluded.', 'consolidation').cue).toBe('cannot be excluded');
  });
});

describe('laterality, zone and size', () => {
  test.each([
    ['Small left pleural effusion.', 'pleural_effusion', 'left', undefined],
    ['Right upper lobe pneumonia.', 'consolidation', 'right', ['upper']],
    ['Bibasilar atelectasis.', 'atelectasis', 'bilateral', ['basilar']],
    ['Bilateral pleural effusions, right greater than left.', 'pleural_effusion', 'bilateral', undefined],
    ['Small right apical pneumothorax.', 'pneumothorax', 'right', ['apical']],
    ['Atelectasis in the left lung base.', 'atelectasis', 'left', ['basilar']],
    ['Opacity in the lingula.', 'opacity', 'left', ['middle']],
    ['Left-sided effusion.', 'pleural_effusion', 'left', undefined],
    ['Patchy RLL consolidation.', 'consolidation', 'right', ['lower']],
    ['Right perihilar opacities.', 'opacity', 'right', ['perihilar']],
  ])('"%s": %s is %s, zones %j', (sentence, code, laterality, zones) => {
    const mention = mentionOf(sentence, code as MentionCode);
    expect(mention.laterality).toBe(laterality);
    expect(mention.zones).toEqual(zones);
  });

  test('a finding without a side has no laterality', () => {
    expect(mentionOf('Mild pulmonary edema.', 'edema').laterality).toBeUndefined();
  });

  test.each([
    ['There is a 1.2 cm nodule in the right upper lobe.', 'nodule', 12],
    ['An 8 mm nodule projects over the left lower lung.', 'nodule', 8],
    ['A 3.5 x 2.1 cm mass in the left hilum.', 'mass', 35],
    ['A 4mm pulmonary nodule.', 'nodule', 4],
    ['Right apical pneumothorax measuring 2 cm.', 'pneumothorax', 20],
  ])('"%s": %s measures %d mm', (sentence, code, mm) => {
    expect(mentionOf(sentence, code as MentionCode).sizeMm).toBe(mm);
  });

  test('a size in another clause is not the finding\'s', () => {
    expect(mentionOf('Stable 6 mm nodule; no pneumothorax.', 'pneumothorax').sizeMm).toBeUndefined();
  });
});

describe('offsets', () => {
  test('a mention points at its words in the section text', () => {
    const text = 'Heart size normal. There is a small left pleural effusion.';
    const mention = mentionOf(text, 'pleural_effusion');
    expect(text.slice(mention.start, mention.end)).toBe('pleural effusion');
    expect(mention.sentence).toBe('There is a small left pleural effusion.');
  });
});
