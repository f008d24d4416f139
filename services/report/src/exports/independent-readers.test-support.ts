import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * For the export tests: DICOM readers that share no code with ours. David Clunie's `dciodvfy`
 * (Debian package `dicom3tools`) checks an object against its IOD; pydicom (Debian package
 * `python3-pydicom`, or any Python named by CXR_PYDICOM_PYTHON that has pydicom and numpy)
 * reads it back, pixels included.
 */

const run = promisify(execFile);

export interface IodCheck {
  /** The IOD dciodvfy checked against (its line that is neither an error nor a warning), e.g. "ParametricMap". */
  iod: string;
  errors: string[];
  warnings: string[];
}

/** Runs dciodvfy on a file: its "Error - ..." and "Warning - ..." lines. */
export async function dciodvfy(file: string): Promise<IodCheck> {
  let stderr: string;
  try {
    ({ stderr } = await run('dciodvfy', [file], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    // It exits non-zero on some errors: its output is what counts.
    stderr = (error as { stderr?: string }).stderr ?? '';
    if (!stderr) throw error;
  }
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  return {
    iod: lines.find((line) => !/^(Error|Warning)\b/.test(line))?.trim() ?? '',
    errors: lines.filter((line) => /^Error\b/.test(line)),
    warnings: lines.filter((line) => /^Warning\b/.test(line)),
  };
}

const PYDICOM_CANDIDATES = (): string[] => [...(process.env.CXR_PYDICOM_PYTHON ? [process.env.CXR_PYDICOM_PYTHON] : []), '/usr/bin/python3', 'python3'];

let found: Promise<string | null> | undefined;

/** A Python that imports pydicom and numpy, or null when there is none. */
export function findPydicomPython(): Promise<string | null> {
  found ??= (async () => {
    for (const python of PYDICOM_CANDIDATES()) {
      try {
        await run(python, ['-c', 'import pydicom, numpy']);
        return python;
      } catch {
        // not this one
      }
    }
    return null;
  })();
  return found;
}

/** What pydicom reads from an object: header values, per-frame pixel statistics and samples. */
export interface PydicomReading {
  pydicomVersion: string;
  sopClassUid: string;
  modality: string;
  transferSyntaxUid: string;
  numberOfFrames: number;
  rows: number;
  columns: number;
  /** Present for images: numpy dtype and per-frame statistics. */
  pixels?: {
    dtype: string;
    shape: number[];
    /** Per frame; `nonzero`: how many pixels are not 0, and their bounding box [first row, last row, first column, last column] (null when none). */
    frames: Array<{ min: number; max: number; argmax: [number, number]; samples: number[]; nonzero: number; bbox: [number, number, number, number] | null }>;
  };
  segments?: Array<{ number: number; label: string; propertyType: string; algorithmType: string }>;
  /** For SR: the root concept, the template, and every content item's concept name in document order. */
  sr?: { root: string; template: string; concepts: string[] };
}

const READER = String.raw`
import json, sys
import pydicom
ds = pydicom.dcmread(sys.argv[1])
samples = json.loads(sys.argv[2])
out = {
  "pydicomVersion": pydicom.__version__,
  "sopClassUid": str(ds.SOPClassUID),
  "modality": str(ds.Modality),
  "transferSyntaxUid": str(ds.file_meta.TransferSyntaxUID),
  "numberOfFrames": int(getattr(ds, "NumberOfFrames", 1) or 1),
  "rows": int(getattr(ds, "Rows", 0) or 0),
  "columns": int(getattr(ds, "Columns", 0) or 0),
}
if "PixelData" in ds or "FloatPixelData" in ds:
  import numpy as np
  a = ds.pixel_array
  if a.ndim == 2:
    a = a[np.newaxis]
  frames = []
  for f in a:
    i = int(np.argmax(f))
    rows, cols = np.nonzero(f)
    bbox = [int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())] if len(rows) else None
    frames.append({"min": float(f.min()), "max": float(f.max()), "argmax": [i // f.shape[1], i % f.shape[1]],
                   "samples": [float(f[r, c]) for r, c in samples], "nonzero": int(len(rows)), "bbox": bbox})
  out["pixels"] = {"dtype": str(a.dtype), "shape": list(a.shape), "frames": frames}
if "SegmentSequence" in ds:
  out["segments"] = [{"number": int(s.SegmentNumber), "label": str(s.SegmentLabel),
    "propertyType": "%s,%s" % (s.SegmentedPropertyTypeCodeSequence[0].get("CodeValue", ""), s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator),
    "algorithmType": str(s.SegmentAlgorithmType)} for s in ds.SegmentSequence]
if "ContentSequence" in ds and ds.Modality == "SR":
  concepts = []
  def walk(items):
    for item in items:
      name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else "(" + str(item.ValueType) + ")"
      concepts.append("%s %s %s" % (item.RelationshipType, item.ValueType, name))
      if "ContentSequence" in item:
        walk(item.ContentSequence)
  walk(ds.ContentSequence)
  out["sr"] = {"root": str(ds.ConceptNameCodeSequence[0].CodeMeaning), "template": str(ds.ContentTemplateSequence[0].TemplateIdentifier), "concepts": concepts}
print(json.dumps(out))
`;

/** Reads a file with pydicom; `samples` are [row, column] pixels whose values (every frame) to report. */
export async function readWithPydicom(python: string, file: string, samples: Array<[number, number]> = []): Promise<PydicomReading> {
  const { stdout } = await run(python, ['-c', READER, file, JSON.stringify(samples)], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as PydicomReading;
}
