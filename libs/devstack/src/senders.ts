import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { encodeMultipartRelated } from '@cxr/platform';
import { readAnswer } from './http-answer.ts';

const run = promisify(execFile);

/**
 * Sends files the way a PACS does, with DCMTK's `dcmsend` (TCP_NODELAY=1: without it DCMTK
 * waits ~45 ms per small object, see the DICOM samples README). Resolves with dcmsend's output;
 * rejects if dcmsend exits non-zero (e.g. a refused instance or association).
 */
export async function dcmsend(files: string[], target: { host: string; port: number; calledAeTitle: string; callingAeTitle?: string }, extraArgs: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return run(
    'dcmsend',
    ['-aet', target.callingAeTitle ?? 'PACS', '-aec', target.calledAeTitle, ...extraArgs, target.host, String(target.port), ...files],
    { env: { ...process.env, TCP_NODELAY: '1' }, maxBuffer: 16 * 1024 * 1024 },
  );
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
