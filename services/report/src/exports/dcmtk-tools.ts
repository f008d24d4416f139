import { readFile } from 'node:fs/promises';
import { runDcmtk } from '@cxr/dcmtk';

/** For the export tests: run a DCMTK tool (Debian package `dcmtk`) and find what it complained about. */

export interface ToolOutput {
  stdout: string;
  stderr: string;
  code: number;
}

export async function dcmtk(tool: 'dsrdump' | 'dcmdump' | 'dcm2pnm', args: string[]): Promise<ToolOutput> {
  const { stdout, stderr, code } = await runDcmtk(tool, args, { allowFailure: true });
  return { stdout, stderr, code: code ?? 1 };
}

/** DCMTK's log lines at warning level or worse ("W: ...", "E: ...", "F: ..."), and dump lines that flag an error. */
export function problemLines(output: ToolOutput): string[] {
  return `${output.stdout}\n${output.stderr}`
    .split('\n')
    .filter((line) => /^(W|E|F): /.test(line) || /\b(error|warning|invalid|illegal)\b/i.test(line));
}

/** DCMTK's rendering of an image file (dcm2pnm to a binary PPM) as raw RGB samples. */
export async function renderRgb(dicomFile: string, ppmFile: string): Promise<{ width: number; height: number; rgb: Buffer; output: ToolOutput }> {
  const output = await dcmtk('dcm2pnm', ['+op', dicomFile, ppmFile]);
  if (output.code !== 0) return { width: 0, height: 0, rgb: Buffer.alloc(0), output };
  const ppm = await readFile(ppmFile);
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('dcm2pnm did not write an 8-bit binary PPM');
  return { width: Number(header[1]), height: Number(header[2]), rgb: ppm.subarray(header[0].length), output };
}
