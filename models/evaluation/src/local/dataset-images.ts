// Reads a hospital's folder of DICOM studies into what the worker would be given, through the code
// that runs in production rather than a copy of it:
// - ingest's attribute decision (`decideScopeByAttributes` on the package's scope, Patient's Age
//   capped at 90 as ingest records it) and its per-study image limit;
// - ingest's image preparation (`prepareAnalysisImage`: decode in the isolated decoder, grey-scale
//   pipeline, de-identified metadata, the presentation image and the raw analysis input);
// - the worker's reading of that input (`readAnalysisInput`, falling back to the presentation PNG
//   when the input has fewer pixels than the model takes, `inputCoversModel`), with the source size
//   the worker passes for the scope's size check.
// Subgroup values come from the de-identified metadata, as the running system would see them.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ANALYSIS_INPUT_LONG_SIDE, decideScopeByAttributes, parsePatientAge, type ModelScope } from '@cxr/contracts';
import { deidentifyMetadata, parseInstance, type IsolatedFrameDecoder, type ParsedInstance } from '@cxr/dicom';
import { decodePresentationPng, inputCoversModel, readAnalysisInput, type PresentationImage } from '@cxr/inference';
// Ingest's own image preparation (the one module its package exports: the file that runs). The
// worker's input reading is @cxr/inference's, which the worker uses too.
import { prepareAnalysisImage } from '@cxr/ingest/pixels/analysis-image';
import { subgroupValuesOf, type SubgroupValues } from './subgroups.ts';

/** Ingest's defaults (services/ingest: INGEST_ANALYSIS_MAX_SIZE, INGEST_ANALYSIS_INPUT_SIZE, maxImagesPerStudy). */
export const INGEST_DEFAULTS = { presentationMaxSize: 1024, analysisInputSize: ANALYSIS_INPUT_LONG_SIDE, maxImagesPerStudy: 8 } as const;

/** Largest file read (ingest's own limit for one instance is of this order). */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

export interface PreparedInstance {
  studyInstanceUid: string;
  values: SubgroupValues;
  /** Analysed when present; else why not (ingest's not-eligible reason, or a decoding failure). */
  image?: PresentationImage;
  notAnalysed?: { kind: 'not-eligible' | 'not-decodable' | 'image-limit'; reason: string };
}

export interface DatasetReadOptions {
  scope: ModelScope;
  modelInputSize: number;
  decoder: IsolatedFrameDecoder;
  presentationMaxSize?: number;
  analysisInputSize?: number;
  maxImagesPerStudy?: number;
}

/** Files under `dir`, depth first, in name order (symbolic links are not followed). */
export async function datasetFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk(dir);
  return out;
}

/** A DICOM file: `.dcm`, or the Part 10 preamble's `DICM` at byte 128. */
function looksLikeDicom(name: string, bytes: Buffer): boolean {
  return name.toLowerCase().endsWith('.dcm') || (bytes.length > 132 && bytes.toString('latin1', 128, 132) === 'DICM');
}

/** Scope attributes as ingest records them (instance-store.ts: Patient's Age in years, capped at 90). */
function scopeAttributesOf(instance: ParsedInstance) {
  const years = parsePatientAge(instance.patientAge);
  return {
    hasPixelData: instance.hasPixelData,
    sopClassUid: instance.sopClassUid,
    modality: instance.modality,
    bodyPartExamined: instance.bodyPartExamined,
    viewPosition: instance.viewPosition,
    photometricInterpretation: instance.photometricInterpretation,
    numberOfFrames: instance.numberOfFrames,
    rows: instance.rows || undefined,
    columns: instance.columns || undefined,
    ...(years === undefined ? {} : { patientAgeYears: Math.min(90, Math.round(years * 100) / 100) }),
  };
}

export interface SkippedFile {
  /** Path relative to the dataset folder (it stays on the evaluating machine; never written out). */
  file: string;
  reason: string;
}

/**
 * Yields every DICOM instance of the folder, prepared; files that are not DICOM, or not parseable,
 * go to `skipped`. Images of a study past ingest's per-study limit are not analysed, as in ingest.
 */
export async function* readDatasetInstances(dir: string, options: DatasetReadOptions, skipped: SkippedFile[]): AsyncGenerator<PreparedInstance> {
  // UIDs in the de-identified metadata are replaced with a key made for this run (never written out).
  const key = randomBytes(32);
  const replaceUid = (uid: string): string => `2.25.${BigInt(`0x${createHash('sha256').update(key).update(uid).digest('hex').slice(0, 30)}`)}`;
  const imagesPerStudy = new Map<string, number>();
  const maxImages = options.maxImagesPerStudy ?? INGEST_DEFAULTS.maxImagesPerStudy;
  for (const path of await datasetFiles(dir)) {
    const file = relative(dir, path);
    const size = (await stat(path)).size;
    if (size > MAX_FILE_BYTES) {
      skipped.push({ file, reason: `larger than ${MAX_FILE_BYTES} bytes` });
      continue;
    }
    const bytes = await readFile(path);
    if (!looksLikeDicom(file, bytes)) {
      skipped.push({ file, reason: 'not a DICOM file' });
      continue;
    }
    let instance: ParsedInstance;
    try {
      instance = parseInstance(bytes);
    } catch (error) {
      skipped.push({ file, reason: `not readable as DICOM: ${(error as Error).message.slice(0, 200)}` });
      continue;
    }
    const studyInstanceUid = instance.studyInstanceUid;
    const decision = decideScopeByAttributes(options.scope, scopeAttributesOf(instance));
    if (!decision.inScope) {
      yield { studyInstanceUid, values: subgroupValuesOf(deidentifyMetadata(instance, replaceUid)), notAnalysed: { kind: 'not-eligible', reason: decision.reason } };
      continue;
    }
    const count = imagesPerStudy.get(studyInstanceUid) ?? 0;
    if (count >= maxImages) {
      yield { studyInstanceUid, values: subgroupValuesOf(deidentifyMetadata(instance, replaceUid)), notAnalysed: { kind: 'image-limit', reason: `more than ${maxImages} eligible images; not analysed` } };
      continue;
    }
    imagesPerStudy.set(studyInstanceUid, count + 1);
    let prepared;
    try {
      prepared = await prepareAnalysisImage(
        bytes,
        { presentation: options.presentationMaxSize ?? INGEST_DEFAULTS.presentationMaxSize, input: options.analysisInputSize ?? INGEST_DEFAULTS.analysisInputSize },
        options.decoder,
        replaceUid,
      );
    } catch (error) {
      if ((error as { permanent?: unknown }).permanent !== true) throw error; // the decoder itself failed: not this file's fault
      yield { studyInstanceUid, values: subgroupValuesOf(deidentifyMetadata(instance, replaceUid)), notAnalysed: { kind: 'not-decodable', reason: `pixel data could not be decoded (${(error as Error).message.slice(0, 200)})` } };
      continue;
    }
    const presentation = { width: prepared.width, height: prepared.height };
    const input = readAnalysisInput(prepared.analysisInput, presentation);
    const image = inputCoversModel(input, presentation, options.modelInputSize) ? input : await decodePresentationPng(prepared.presentationPng, presentation);
    yield { studyInstanceUid, values: subgroupValuesOf(prepared.metadata), image: { ...image, source: presentation } };
  }
}
