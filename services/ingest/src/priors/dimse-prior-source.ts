import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDcmtk, type DcmtkResult } from '@cxr/dcmtk';
import { PermanentError, TransientError } from '@cxr/platform';
import { dicomDate, type InstanceSink, type PriorQuery, type PriorSource, type RemoteStudy } from './prior-source.ts';

/**
 * A PACS reached by DIMSE, through DCMTK's SCUs (the project's one way of running DCMTK,
 * @cxr/dcmtk): C-FIND (findscu, Study Root, STUDY level) to find, then
 * - `get`: C-GET (getscu) into a temporary folder, each file then handed to ingest's sink; or
 * - `move`: C-MOVE (movescu) to ingest's own storage SCP (`moveDestination`, an AE title the PACS
 *   must know), which stores and records the instances as any other C-STORE; movescu returns
 *   once the PACS reports every sub-operation done, and ingest acknowledges a C-STORE only after
 *   storing and recording it.
 * Every tool run is killed when the finder's wait bound aborts its signal (and, failing that, after
 * `remaining()` ms of its own), and DCMTK's own network timeouts are set from the same bound.
 */
export interface DimsePriorSourceOptions {
  name: string;
  host: string;
  port: number;
  /** The PACS's AE title. */
  calledAeTitle: string;
  /** Ours, as the PACS knows it. */
  callingAeTitle: string;
  retrieve: 'get' | 'move';
  /** C-MOVE destination: ingest's storage SCP AE title. */
  moveDestination?: string | undefined;
  /** Most studies one C-FIND returns (more are cut, the most recent kept by the finder). */
  maxResults?: number;
}

/** Milliseconds left before the signal's bound; the finder passes it in with the signal. */
export type Remaining = () => number;

const NETWORK_TIMEOUT_ARGS = (seconds: number) => ['-to', String(seconds), '-ta', String(seconds), '-td', String(seconds)];

/** The data sets findscu logs with `+sr`: one map of `gggg,eeee` → value per Find Response. */
export function parseFindResponses(output: string): Map<string, string>[] {
  const responses: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  for (const line of output.split('\n')) {
    if (/Find Response:\s*\d+\s*\(Pending/i.test(line)) {
      current = new Map();
      responses.push(current);
      continue;
    }
    if (/Find Response:/i.test(line) || /Received Final Find Response/i.test(line)) {
      current = undefined;
      continue;
    }
    const m = /\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\)\s+[A-Z]{2}\s+(?:\[([^\]]*)\]|\(no value available\))/.exec(line);
    // UI values are padded to even length with a NUL (PS3.5 6.2), which findscu prints as is.
    if (m && current) current.set(`${m[1]!.toUpperCase()},${m[2]!.toUpperCase()}`, (m[3] ?? '').replace(/[\0\s]+$/, '').trim());
  }
  return responses;
}

function failure(result: DcmtkResult, what: string, name: string): Error {
  // Never the patient's attributes (group 0010) that findscu echoes: the text is logged and reported.
  const tail = result.output.trim().split('\n').filter((l) => !/\(0010,/.test(l)).slice(-3).join(' | ').slice(0, 400);
  // A refused association or a failed status is the PACS's answer: no retry would change it now.
  return result.timedOut ? new TransientError(`${what}: ${name} did not answer in time`) : new PermanentError(`${what}: ${name} failed (exit ${result.code}): ${tail}`);
}

const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
/** A UID the PACS answered, only when it is one (a malformed one is never put on a command line). */
export function validUid(value: string | undefined): string | undefined {
  return value !== undefined && value.length <= 64 && UID.test(value) ? value : undefined;
}

/** A query value, refused when it would not match exactly (the finder never asks with one). */
function queryValue(value: string): string {
  if (/[\\*?]/.test(value)) throw new PermanentError('a C-FIND value holds a wildcard or a value separator');
  return value;
}

export class DimsePriorSource implements PriorSource {
  readonly name: string;

  constructor(
    private readonly options: DimsePriorSourceOptions,
    private readonly remaining: Remaining = () => 30_000,
  ) {
    this.name = options.name;
    if (options.retrieve === 'move' && !options.moveDestination) throw new Error(`PACS ${options.name}: C-MOVE needs a move destination AE title`);
  }

  /** Seconds for DCMTK's own network timeouts and ms for the kill, from what is left of the bound. */
  private bounds(): { seconds: number; timeoutMs: number } {
    const ms = Math.max(1, this.remaining());
    return { seconds: Math.max(1, Math.ceil(ms / 1000)), timeoutMs: ms };
  }

  private peer(): string[] {
    const o = this.options;
    return ['-aet', o.callingAeTitle, '-aec', o.calledAeTitle, o.host, String(o.port)];
  }

  async find(query: PriorQuery, signal: AbortSignal): Promise<RemoteStudy[]> {
    signal.throwIfAborted();
    const { seconds, timeoutMs } = this.bounds();
    const keys = [
      'QueryRetrieveLevel=STUDY',
      `PatientID=${queryValue(query.patientId)}`,
      `IssuerOfPatientID${query.issuer ? `=${queryValue(query.issuer)}` : ''}`,
      `StudyDate=${query.from}-${query.to}`,
      'StudyInstanceUID',
      'ModalitiesInStudy',
    ].flatMap((k) => ['-k', k]);
    const result = await runDcmtk('findscu', ['-S', '+sr', ...NETWORK_TIMEOUT_ARGS(seconds), ...keys, ...this.peer()], { timeoutMs, signal, allowFailure: true, maxOutputBytes: 8 * 1024 * 1024 });
    if (result.code !== 0 || result.timedOut) throw failure(result, 'C-FIND', this.name);
    const out: RemoteStudy[] = [];
    for (const r of parseFindResponses(result.output).slice(0, this.options.maxResults ?? 100)) {
      const studyInstanceUid = validUid(r.get('0020,000D'));
      const studyDate = dicomDate(r.get('0008,0020'));
      if (!studyInstanceUid || !studyDate) continue;
      const modalities = (r.get('0008,0061') ?? '').split('\\').map((m) => m.trim()).filter(Boolean);
      out.push({ studyInstanceUid, studyDate, modalities, issuer: r.get('0010,0021') || undefined, patientId: r.get('0010,0020') || undefined });
    }
    return out;
  }

  async retrieve(studyInstanceUid: string, sink: InstanceSink, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const keys = ['-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${queryValue(studyInstanceUid)}`];
    if (this.options.retrieve === 'move') {
      const { seconds, timeoutMs } = this.bounds();
      const result = await runDcmtk('movescu', ['-S', ...NETWORK_TIMEOUT_ARGS(seconds), '-aem', this.options.moveDestination!, ...keys, ...this.peer()], { timeoutMs, signal, allowFailure: true });
      if (result.code !== 0 || result.timedOut || /Failed|Warning/.test(subOperationLine(result.output))) throw failure(result, 'C-MOVE', this.name);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ingest-cget-'));
    try {
      const { seconds, timeoutMs } = this.bounds();
      const result = await runDcmtk('getscu', ['-S', ...NETWORK_TIMEOUT_ARGS(seconds), '-od', dir, ...keys, ...this.peer()], { timeoutMs, signal, allowFailure: true });
      if (result.code !== 0 || result.timedOut) throw failure(result, 'C-GET', this.name);
      for (const file of (await readdir(dir)).sort()) {
        signal.throwIfAborted();
        await sink(await readFile(join(dir, file)));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** movescu's summary of the sub-operations, when it printed one (empty otherwise). */
function subOperationLine(output: string): string {
  return output.split('\n').filter((l) => /Sub-Operations? (Failed|Warning)/i.test(l) && !/:\s*0\s*$/.test(l)).join('\n');
}
