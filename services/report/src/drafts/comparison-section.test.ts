import { describe, expect, test } from 'vitest';
import type { PriorLookup } from '@cxr/contracts';
import type { ComparedFinding } from '@cxr/drafting';
import { comparisonSection } from './comparison-section.ts';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const effusion = (positive: boolean): ComparedFinding => ({ code: 'effusion', display: 'Pleural effusion', positive, probability: positive ? 0.9 : 0.1, side: positive ? 'right' : null, zone: null, region: null });
const lookup = (over: Partial<PriorLookup> = {}): PriorLookup => ({ priors: [{ studyKey: A, studyDate: '2026-11-02', source: 'local' }], unanswered: [], ...over });

describe('comparisonSection', () => {
  test('compares with the prior and names its date', () => {
    expect(comparisonSection(lookup(), [{ studyKey: A, findings: [effusion(false)] }], [effusion(true)])).toBe('Compared with 2026-11-02: new right pleural effusion.');
  });

  test('is "None." when no prior was found and every PACS answered', () => {
    expect(comparisonSection(lookup({ priors: [] }), [], [effusion(true)])).toBe('None.');
  });

  test('says the lookup timed out when a PACS did not answer and nothing was found', () => {
    const text = comparisonSection(lookup({ priors: [], unanswered: [{ source: 'main', reason: 'timed-out', detail: 'no answer within 10 s' }] }), [], [effusion(true)]);
    expect(text).toBe('None: prior lookup timed out (main: no answer within 10 s); no comparison was made.');
  });

  test('compares with what was found and says the lookup was incomplete', () => {
    const text = comparisonSection(lookup({ unanswered: [{ source: 'old', reason: 'failed', detail: 'association rejected' }] }), [{ studyKey: A, findings: [effusion(true)] }], [effusion(true)]);
    expect(text).toBe('Compared with 2026-11-02: the right pleural effusion is unchanged. Prior lookup failed for some PACS (old failed: association rejected).');
  });

  test('says a found prior has not been analysed yet rather than comparing with nothing', () => {
    expect(comparisonSection(lookup(), [{ studyKey: A, findings: null }], [effusion(true)])).toBe('Prior study of 2026-11-02 not yet analysed; no comparison was made.');
  });

  test('says a prior that will never be analysed could not be, rather than that it is still to come', () => {
    expect(comparisonSection(lookup(), [{ studyKey: A, findings: null, missing: 'not-analysable' }], [effusion(true)])).toBe(
      'Prior study of 2026-11-02 could not be analysed by the AI model; no comparison was made.',
    );
  });

  test('uses the most recent prior that has a report', () => {
    const both = lookup({ priors: [{ studyKey: A, studyDate: '2026-11-02', source: 'local' }, { studyKey: B, studyDate: '2025-01-15', source: 'main' }] });
    expect(comparisonSection(both, [{ studyKey: A, findings: null }, { studyKey: B, findings: [effusion(true)] }], [effusion(false)])).toBe(
      'Compared with 2025-01-15: the right pleural effusion has resolved.',
    );
  });
});
