import type { PriorPacs } from '../config.ts';
import { DicomwebPriorSource } from './dicomweb-prior-source.ts';
import { DimsePriorSource } from './dimse-prior-source.ts';
import { RADIOGRAPH_MODALITIES, type PriorSource } from './prior-source.ts';
import type { PatientStudyIndex } from './prior-finder.ts';
import type { StudyRegistry } from '../studies/study-registry.ts';

/** The configured PACS as prior sources. DIMSE ones call as ingest's AE title and C-MOVE to it. */
export function priorSourcesFrom(
  pacs: readonly PriorPacs[],
  ours: { aeTitle: string; waitMs: number; maxStudyBytes: number },
): PriorSource[] {
  return pacs.map((p) =>
    p.kind === 'dicomweb'
      ? new DicomwebPriorSource({ name: p.name, url: p.url, authorization: p.authorization, maxStudyBytes: ours.maxStudyBytes })
      : // DCMTK's own timeouts are set from the wait bound; the finder also stops waiting at it.
        new DimsePriorSource(
          { name: p.name, host: p.host, port: p.port, calledAeTitle: p.aeTitle, callingAeTitle: ours.aeTitle, retrieve: p.retrieve, moveDestination: ours.aeTitle },
          () => ours.waitMs,
        ),
  );
}

/** Ingest's registry as the finder's index of the patient's studies. */
export function registryPatientIndex(registry: StudyRegistry): PatientStudyIndex {
  return {
    patientStudies: (patientKey) => registry.patientStudies(patientKey),
    async hasRadiographs(studyUid) {
      for (const record of (await registry.instances(studyUid)).values()) if (RADIOGRAPH_MODALITIES.has(record.modality.toUpperCase())) return true;
      return false;
    },
    markRetrievedPrior: (studyUid) => registry.markRetrievedPrior(studyUid),
  };
}
