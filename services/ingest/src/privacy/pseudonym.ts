import { createHmac } from 'node:crypto';

/**
 * Stable pseudonymous keys (PS3.15 "replace UIDs" with a keyed hash): the same study always
 * gets the same key, nobody without the secret can recover the UID from it, and the worker
 * and every derived object are keyed by it, never by a DICOM identifier.
 */
export class Pseudonymizer {
  constructor(private readonly secret: string) {}

  key(kind: 'study' | 'instance', uid: string): string {
    return createHmac('sha256', this.secret).update(`${kind}:${uid}`).digest('hex').slice(0, 32);
  }

  studyKey(studyInstanceUid: string): string {
    return this.key('study', studyInstanceUid);
  }

  instanceKey(sopInstanceUid: string): string {
    return this.key('instance', sopInstanceUid);
  }
}
