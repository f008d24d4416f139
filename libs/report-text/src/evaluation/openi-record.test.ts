import { describe, expect, test } from 'vitest';
import { codesFromMesh } from './mesh-mapping.ts';
import { openIXml } from './openi-fixtures.test-helper.ts';
import { OpenIRecordError, parseOpenIRecord } from './openi-record.ts';

describe('parseOpenIRecord', () => {
  test('reads the four sections and the major and minor MeSH terms', () => {
    const record = parseOpenIRecord(
      openIXml({
        comparison: 'None.',
        indication: 'Cough & fever',
        findings: 'Small left effusion.',
        impression: 'Left pleural effusion.',
        major: ['Pleural Effusion/left/small'],
        minor: ['Cardiomegaly/mild'],
      }),
      'a.xml',
    );
    expect(record).toEqual({
      id: 'a.xml',
      sections: { comparison: 'None.', indication: 'Cough & fever', findings: 'Small left effusion.', impression: 'Left pleural effusion.' },
      mesh: ['Pleural Effusion/left/small', 'Cardiomegaly/mild'],
    });
  });

  test('reads an empty section as empty text', () => {
    expect(parseOpenIRecord(openIXml({ impression: 'Normal chest.', major: ['normal'] }), 'b.xml').sections.findings).toBe('');
  });

  test.each([
    ['not XML', 'this is not xml <', /not well-formed XML|no <eCitation>/],
    ['another XML document', '<?xml version="1.0"?><note><to>x</to></note>', /no <eCitation> root/],
    ['a record without its coding', openIXml({ findings: 'Clear.' }).replace(/<MeSH>[\s\S]*<\/MeSH>/, ''), /no <MeSH> coding/],
  ])('refuses %s with the file named in the reason', (_what, xml, reason) => {
    expect(() => parseOpenIRecord(xml, 'bad.xml')).toThrow(OpenIRecordError);
    expect(() => parseOpenIRecord(xml, 'bad.xml')).toThrow(reason);
    expect(() => parseOpenIRecord(xml, 'bad.xml')).toThrow(/^bad\.xml: /);
  });
});

describe('codesFromMesh', () => {
  test.each([
    [['normal'], ['normal']],
    [['Pleural Effusion/bilateral/small'], ['pleural_effusion']],
    [['Pericardial Effusion'], []],
    [['Cardiomegaly/borderline'], ['cardiomegaly']],
    [['Cardiac Shadow/enlarged/mild'], ['cardiomegaly']],
    [['Heart/left/obscured'], []],
    [['Pulmonary Atelectasis/base/left'], ['atelectasis']],
    [['Airspace Disease/lung/base/right', 'Infiltrate/lung/lingula'], ['consolidation']],
    [['Opacity/lung/base/left/streaky'], ['opacity']],
    [['Density/breast'], []],
    [['Pulmonary Congestion/mild'], ['edema']],
    [['Nodule/lung/upper lobe/right'], ['nodule']],
    [['Calcified Granuloma/lung/upper lobe/right'], []],
  ])('codes %j as %j', (terms, codes) => {
    expect([...codesFromMesh(terms)].sort()).toEqual([...codes].sort());
  });
});
