import { runDcmtk } from '@cxr/dcmtk';
import { encodeMultipartRelated } from '@cxr/platform';
import { readAnswer } from './http-answer.ts';

/**
 * Sends files the way a PACS does, with DCMTK's `dcmsend` (run by @cxr/dcmtk: Nagle off, a
 * timeout, a clear error when DCMTK is not installed). Resolves with dcmsend's output; rejects
 * with a DcmtkToolError if dcmsend exits non-zero (e.g. a refused instance or association).
 */
export async function dcmsend(files: string[], target: { host: string; port: number; calledAeTitle: string; callingAeTitle?: string }, extraArgs: string[] = []): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await runDcmtk(
    'dcmsend',
    ['-aet', target.callingAeTitle ?? 'PACS', '-aec', target.calledAeTitle, ...extraArgs, target.host, String(target.port), ...files],
  );
  return { stdout, stderr };
}

/** STOW-RS: POST the instances to `{base}/dicomweb/studies`. */
export async function stowRs(baseUrl: string, instances: Buffer[], options: { apiKey?: string; study?: string } = {}): Promise<{ status: number; body: unknown }> {
  const { body, contentType } = encodeMultipartRelated(instances);
  const url = `${baseUrl}/dicomweb/studies${options.study ? `/${options.study}` : ''}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': contentType, Accept: 'application/dicom+json', ...(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}) },
    body,
  });
  return readAnswer(res);
}
