import { createHmac } from 'node:crypto';

/**
 * Stable pseudonymous keys (PS3.15 "replace UIDs" with a keyed hash): the same study always
 * gets the same key, nobody without the secret can recover the UID from it, and the worker
 * and every derived object are keyed by it, never by a DICOM identifier.
 */
export class Pseudonymizer {
  constructor(private readonly secret: string) {}

  key(kind: 'study' | 'instance' | 'uid' | 'patient', uid: string): string {
    return createHmac('sha256', this.secret).update(`${kind}:${uid}`).digest('hex').slice(0, 32);
  }

  studyKey(studyInstanceUid: string): string {
    return this.key('study', studyInstanceUid);
  }

  instanceKey(sopInstanceUid: string): string {
    return this.key('instance', sopInstanceUid);
  }

  /**
   * The patient's key, for finding the same patient's earlier studies in ingest's own index: Patient
   * ID and Issuer of Patient ID (an ID alone is only unique within its issuer), never the name.
   * Empty Patient ID: no key (an anonymous study matches nobody).
   */
  patientKey(patientId: string | undefined, issuer: string | undefined): string | undefined {
    const id = patientId?.trim() ?? '';
    if (id === '') return undefined;
    return this.key('patient', JSON.stringify([id, issuer?.trim() ?? '']));
  }

  /**
   * A replacement UID (PS3.15 action U) for the de-identified metadata: `2.25.` and 128 bits of the
   * keyed hash as a decimal (PS3.5 B.2), stable for the same UID, unlinkable without the secret.
   */
  dicomUid(uid: string): string {
    return `2.25.${BigInt(`0x${this.key('uid', uid)}`).toString(10)}`;
  }
}
