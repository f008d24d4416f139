/**
 * The corpus cases, in build order. Each native file is written by `@cxr/dicom`'s writer from
 * phantom pixels (`@cxr/phantom`), so the stored values are known exactly; every other transfer
 * syntax is made from a native file by a Debian tool (DCMTK, GDCM), so our decoders are checked
 * against another implementation's encoder. Odd cases (no meta header, a truncated file...) are
 * made by cutting or rewriting bytes here.
 *
 * UIDs are derived from the case name, so a rebuilt corpus holds the same UIDs.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeDataSet,
  encodeElement,
  encodeFileMetaInformation,
  DICM_PREFIX,
  PREAMBLE_LENGTH,
  SopClass,
  Tag,
  TransferSyntax,
  type DataElement,
} from '@cxr/dicom';
import { generatePhantom } from '@cxr/phantom';
import type { CorpusCase, CorpusImage, PixelArrayType, SourcePixels } from './manifest.ts';

/** Attributes `Tag` does not name (they matter only to the corpus). */
const Extra = Object.freeze({
  InstitutionName: 'x00080080',
  StationName: 'x00081010',
  OperatorsName: 'x00081070',
  ImageComments: 'x00204000',
  SegmentationType: 'x00620001',
  SegmentSequence: 'x00620002',
  SegmentNumber: 'x00620004',
  SegmentLabel: 'x00620005',
  SegmentAlgorithmType: 'x00620008',
  ValueType: 'x0040a040',
  ContinuityOfContent: 'x0040a050',
  ConceptNameCodeSequence: 'x0040a043',
  ContentSequence: 'x0040a730',
  RelationshipType: 'x0040a010',
  TextValue: 'x0040a160',
  CompletionFlag: 'x0040a491',
  VerificationFlag: 'x0040a493',
  RtPlanLabel: 'x300a0002',
  RtPlanDate: 'x300a0006',
  RtPlanGeometry: 'x300a000c',
  ApprovalStatus: 'x300e0002',
  ModalityLutType: 'x00283004',
} as const);

export interface BuildContext {
  dir: string;
  /** Runs a Debian tool; throws with its output when it fails. */
  tool(name: string, args: string[]): void;
}

export interface CaseRecipe {
  name: string;
  make(ctx: BuildContext): CorpusCase;
}

/** A stable UID for a label: 2.25. + 120 bits of its hash (PS3.5 §B.2). */
export function corpusUid(label: string): string {
  return `2.25.${BigInt(`0x${createHash('sha256').update(`cxr-test-corpus:${label}`).digest('hex').slice(0, 30)}`)}`;
}

interface Identity {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  identifiers: CorpusCase['identifiers'];
}

function identity(label: string, sopClassUid: string, modality: string, n: number): Identity {
  return {
    sopClassUid,
    sopInstanceUid: corpusUid(`${label}/instance`),
    studyInstanceUid: corpusUid(`${label}/study`),
    seriesInstanceUid: corpusUid(`${label}/series`),
    modality,
    identifiers: {
      patientName: `CORPUS^SYNTHETIC^P${n}`,
      patientId: `CORPUSPID${String(n).padStart(4, '0')}`,
      accessionNumber: `CORPUSACC${String(n).padStart(4, '0')}`,
      studyDate: `2019${String((n % 12) + 1).padStart(2, '0')}15`,
    },
  };
}

/** Patient, study, series and equipment modules, with synthetic identifying values to hide. */
function commonElements(id: Identity): DataElement[] {
  return [
    { tag: Tag.SpecificCharacterSet, vr: 'CS', value: 'ISO_IR 100' },
    { tag: Tag.SopClassUid, vr: 'UI', value: id.sopClassUid },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: id.sopInstanceUid },
    { tag: Tag.StudyDate, vr: 'DA', value: id.identifiers.studyDate },
    { tag: Tag.StudyTime, vr: 'TM', value: '093015' },
    { tag: Tag.AccessionNumber, vr: 'SH', value: id.identifiers.accessionNumber },
    { tag: Tag.Modality, vr: 'CS', value: id.modality },
    { tag: Tag.Manufacturer, vr: 'LO', value: 'CXR test corpus' },
    { tag: Extra.InstitutionName, vr: 'LO', value: 'Synthetic Corpus Hospital' },
    { tag: Tag.ReferringPhysicianName, vr: 'PN', value: 'REFERRER^SYNTHETIC' },
    { tag: Extra.StationName, vr: 'SH', value: 'CORPUSSTN01' },
    { tag: Tag.StudyDescription, vr: 'LO', value: 'Corpus study for tests' },
    { tag: Extra.OperatorsName, vr: 'PN', value: 'OPERATOR^SYNTHETIC' },
    { tag: Tag.PatientName, vr: 'PN', value: id.identifiers.patientName },
    { tag: Tag.PatientId, vr: 'LO', value: id.identifiers.patientId },
    { tag: Tag.PatientBirthDate, vr: 'DA', value: '19700402' },
    { tag: Tag.PatientSex, vr: 'CS', value: 'O' },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: id.studyInstanceUid },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: id.seriesInstanceUid },
    { tag: Tag.StudyId, vr: 'SH', value: 'CORPUSSTUDY1' },
    { tag: Tag.SeriesNumber, vr: 'IS', value: 1 },
    { tag: Tag.InstanceNumber, vr: 'IS', value: 1 },
  ];
}

function part10(id: Identity, elements: DataElement[], transferSyntaxUid: string = TransferSyntax.ExplicitVRLittleEndian): Buffer {
  return Buffer.concat([
    encodeFileMetaInformation({ mediaStorageSopClassUid: id.sopClassUid, mediaStorageSopInstanceUid: id.sopInstanceUid, transferSyntaxUid }),
    encodeDataSet(elements),
  ]);
}

/** Phantom grey values in [0, 1], `width` wide; the seed picks the anatomy. */
function phantomValues(seed: number, width: number, aspect: number): { width: number; height: number; values: Float32Array } {
  const phantom = generatePhantom({ seed, size: width, aspect, findings: [{ code: 'nodule' }] });
  return { width: phantom.width, height: phantom.height, values: phantom.pixels };
}

function storedValues(values: Float32Array, scale: number, offset: number, type: PixelArrayType): Uint8Array | Uint16Array | Int16Array {
  const out = type === 'Uint8Array' ? new Uint8Array(values.length) : type === 'Int16Array' ? new Int16Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]! * scale) + offset;
  return out;
}

function bytesOf(pixels: ArrayBufferView): Uint8Array {
  return new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
}

/** Pixel Data as OW (16-bit, little endian on this host) or OB (8-bit). */
function pixelDataElement(pixels: Uint8Array | Uint16Array | Int16Array): DataElement {
  if (pixels instanceof Uint8Array) return { tag: Tag.PixelData, vr: 'OB', value: pixels };
  return { tag: Tag.PixelData, vr: 'OW', value: new Uint16Array(pixels.buffer, pixels.byteOffset, pixels.length) };
}

function imagePixelElements(image: CorpusImage, multiFrame: boolean): DataElement[] {
  const elements: DataElement[] = [
    { tag: Tag.SamplesPerPixel, vr: 'US', value: image.samplesPerPixel },
    { tag: Tag.PhotometricInterpretation, vr: 'CS', value: image.photometric },
    { tag: Tag.Rows, vr: 'US', value: image.rows },
    { tag: Tag.Columns, vr: 'US', value: image.columns },
    { tag: Tag.BitsAllocated, vr: 'US', value: image.bitsAllocated },
    { tag: Tag.BitsStored, vr: 'US', value: image.bitsStored },
    { tag: Tag.HighBit, vr: 'US', value: image.highBit },
    { tag: Tag.PixelRepresentation, vr: 'US', value: image.pixelRepresentation },
    { tag: Extra.ImageComments, vr: 'LT', value: 'Synthetic phantom pixels written for the test corpus' },
  ];
  if (image.samplesPerPixel === 3) elements.push({ tag: Tag.PlanarConfiguration, vr: 'US', value: 0 });
  if (multiFrame) elements.push({ tag: Tag.NumberOfFrames, vr: 'IS', value: image.frames });
  if (image.window) {
    elements.push({ tag: Tag.WindowCenter, vr: 'DS', value: image.window.center }, { tag: Tag.WindowWidth, vr: 'DS', value: image.window.width });
  }
  if (image.rescale) {
    elements.push(
      { tag: Tag.RescaleIntercept, vr: 'DS', value: image.rescale.intercept },
      { tag: Tag.RescaleSlope, vr: 'DS', value: image.rescale.slope },
      { tag: Tag.RescaleType, vr: 'LO', value: 'HU' },
    );
  }
  return elements;
}

function writeSource(ctx: BuildContext, name: string, pixels: ArrayBufferView): string {
  const file = name.replace(/\.dcm$/, '.pixels');
  writeFileSync(join(ctx.dir, file), bytesOf(pixels));
  return file;
}

interface NativeImageSpec {
  name: string;
  what: string;
  label: string;
  sopClassUid: string;
  modality: string;
  n: number;
  image: Omit<CorpusImage, 'source'>;
  pixels: Uint8Array | Uint16Array | Int16Array;
  decodedPhotometric?: string;
  multiFrame?: boolean;
  extraElements?: DataElement[];
}

function nativeImage(spec: NativeImageSpec): CaseRecipe {
  return {
    name: spec.name,
    make(ctx) {
      const id = identity(spec.label, spec.sopClassUid, spec.modality, spec.n);
      const type = spec.pixels instanceof Uint8Array ? 'Uint8Array' : spec.pixels instanceof Int16Array ? 'Int16Array' : 'Uint16Array';
      const source: SourcePixels = {
        file: writeSource(ctx, spec.name, spec.pixels),
        type,
        decodedPhotometric: spec.decodedPhotometric ?? spec.image.photometric,
        lossless: true,
      };
      const image: CorpusImage = { ...spec.image, source };
      const elements = [...commonElements(id), ...imagePixelElements(image, spec.multiFrame ?? false), ...(spec.extraElements ?? []), pixelDataElement(spec.pixels)];
      writeFileSync(join(ctx.dir, spec.name), part10(id, elements));
      return { name: spec.name, what: spec.what, madeBy: "@cxr/dicom's writer from phantom pixels", transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian, ...id, image };
    },
  };
}

/** A case made from an earlier one by a Debian tool (input file, output file). */
function transcoded(
  name: string,
  from: () => CorpusCase,
  change: { what: string; transferSyntaxUid: string; tool: string; args: string[]; photometric?: string; tolerance?: SourcePixels['tolerance'] },
): CaseRecipe {
  return {
    name,
    make(ctx) {
      const base = from();
      ctx.tool(change.tool, [...change.args, join(ctx.dir, base.name), join(ctx.dir, name)]);
      // An instance of its own (the same UIDs in two corpus files would make one overwrite the
      // other wherever tests send several); dcmodify brings the meta header along.
      const uids = {
        sopInstanceUid: corpusUid(`${name}/instance`),
        studyInstanceUid: corpusUid(`${name}/study`),
        seriesInstanceUid: corpusUid(`${name}/series`),
      };
      ctx.tool('dcmodify', [
        '-nb', '-m', `(0008,0018)=${uids.sopInstanceUid}`, '-m', `(0020,000d)=${uids.studyInstanceUid}`, '-m', `(0020,000e)=${uids.seriesInstanceUid}`,
        join(ctx.dir, name),
      ]);
      const image = base.image && {
        ...base.image,
        ...(change.photometric ? { photometric: change.photometric } : {}),
        ...(base.image.source
          ? { source: { ...base.image.source, lossless: !change.tolerance, ...(change.tolerance ? { tolerance: change.tolerance } : {}) } }
          : {}),
      };
      return {
        ...base,
        ...uids,
        name,
        what: change.what,
        madeBy: `${change.tool} ${change.args.join(' ')} from ${base.name}`.replace(/\s+from/, ' from'),
        transferSyntaxUid: change.transferSyntaxUid,
        ...(image ? { image } : {}),
      };
    },
  };
}

const grey = (rows: number, columns: number, bits: { allocated: number; stored: number; signed: boolean }, photometric = 'MONOCHROME2') => ({
  rows,
  columns,
  frames: 1,
  samplesPerPixel: 1,
  photometric,
  bitsAllocated: bits.allocated,
  bitsStored: bits.stored,
  highBit: bits.stored - 1,
  pixelRepresentation: bits.signed ? (1 as const) : (0 as const),
});

/** RGB interleaved: the phantom in red, a horizontal ramp in green, a vertical ramp in blue. */
function colourPixels(seed: number, width: number, height: number, frames: number): Uint8Array {
  const out = new Uint8Array(width * height * 3 * frames);
  for (let f = 0; f < frames; f++) {
    const { values } = phantomValues(seed + f, width, height / width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const at = (f * width * height + i) * 3;
        out[at] = Math.round(values[i]! * 255);
        out[at + 1] = Math.round((255 * ((x + f * 9) % width)) / (width - 1));
        out[at + 2] = Math.round((255 * y) / (height - 1));
      }
    }
  }
  return out;
}

/** A smooth non-linear 16-bit LUT (a gamma curve), `entries` long. */
function gammaLut(entries: number, gamma: number): number[] {
  return Array.from({ length: entries }, (_, i) => Math.round(65535 * (i / (entries - 1)) ** gamma));
}

/** Every case, in build order (later ones read earlier files). */
export function corpusRecipes(): CaseRecipe[] {
  const made = new Map<string, CorpusCase>();
  const get = (name: string) => () => {
    const found = made.get(name);
    if (!found) throw new Error(`corpus case ${name} is built after a case made from it`);
    return found;
  };
  const mr = phantomValues(101, 64, 1);
  const ct = phantomValues(102, 128, 1);
  const nm = phantomValues(103, 512, 1);
  const ot = phantomValues(104, 256, 1);
  const cr = phantomValues(105, 1024, 1.2);
  const nm12 = phantomValues(106, 256, 1);
  const mlutLut = gammaLut(4096, 0.5);
  const voiLut = gammaLut(256, 2);

  const recipes: CaseRecipe[] = [
    nativeImage({
      name: 'ct-signed-rescale.dcm', what: 'signed 16-bit, rescale slope/intercept to HU, no window (min-max VOI)',
      label: 'ct', sopClassUid: SopClass.CTImageStorage, modality: 'CT', n: 1,
      image: { ...grey(128, 128, { allocated: 16, stored: 16, signed: true }), rescale: { slope: 1, intercept: -1024 } },
      pixels: storedValues(ct.values, 2400, -300, 'Int16Array'),
    }),
    nativeImage({
      name: 'mr-explicit.dcm', what: 'explicit VR little endian, signed 16-bit, window 600/1600',
      label: 'mr', sopClassUid: SopClass.MRImageStorage, modality: 'MR', n: 2,
      image: { ...grey(64, 64, { allocated: 16, stored: 16, signed: true }), window: { center: 600, width: 1600 } },
      pixels: storedValues(mr.values, 1800, -100, 'Int16Array'),
    }),
    transcoded('mr-implicit.dcm', get('mr-explicit.dcm'), { what: 'implicit VR little endian', transferSyntaxUid: TransferSyntax.ImplicitVRLittleEndian, tool: 'dcmconv', args: ['+ti'] }),
    transcoded('mr-big-endian.dcm', get('mr-explicit.dcm'), { what: 'explicit VR big endian (retired): byte swapping', transferSyntaxUid: TransferSyntax.ExplicitVRBigEndian, tool: 'dcmconv', args: ['+tb'] }),
    transcoded('mr-rle.dcm', get('mr-explicit.dcm'), { what: 'RLE lossless', transferSyntaxUid: TransferSyntax.RleLossless, tool: 'dcmcrle', args: [] }),
    transcoded('mr-jpeg-ls-lossless.dcm', get('mr-explicit.dcm'), { what: 'JPEG-LS lossless', transferSyntaxUid: TransferSyntax.JpegLsLossless, tool: 'dcmcjpls', args: ['+el'] }),
    transcoded('mr-j2k-lossless.dcm', get('mr-explicit.dcm'), { what: 'JPEG 2000 lossless', transferSyntaxUid: TransferSyntax.Jpeg2000Lossless, tool: 'gdcmconv', args: ['--quiet', '--j2k'] }),
    nativeImage({
      name: 'nm-native.dcm', what: 'a 512x512 signed 16-bit NM frame (source of the JPEG lossless case)',
      label: 'nm', sopClassUid: SopClass.NuclearMedicineImageStorage, modality: 'NM', n: 3,
      image: grey(512, 512, { allocated: 16, stored: 16, signed: true }),
      pixels: storedValues(nm.values, 30000, -1000, 'Int16Array'),
    }),
    transcoded('nm-jpeg-lossless-sv1.dcm', get('nm-native.dcm'), { what: 'JPEG lossless, first-order prediction (SV1), 16-bit', transferSyntaxUid: TransferSyntax.JpegLosslessSV1, tool: 'dcmcjpeg', args: ['+e1'] }),
    nativeImage({
      name: 'nm-12bit.dcm', what: 'unsigned 12 bits stored (source of the JPEG extended case)',
      label: 'nm12', sopClassUid: SopClass.NuclearMedicineImageStorage, modality: 'NM', n: 4,
      image: grey(256, 256, { allocated: 16, stored: 12, signed: false }),
      pixels: storedValues(nm12.values, 4095, 0, 'Uint16Array'),
    }),
    transcoded('nm-jpeg-extended-12bit.dcm', get('nm-12bit.dcm'), {
      what: 'JPEG extended (process 4), 12-bit lossy', transferSyntaxUid: TransferSyntax.JpegExtended, tool: 'dcmcjpeg', args: ['+ee', '+q', '95', '+un'],
      tolerance: { maxAbs: 96, meanAbs: 3 },
    }),
    nativeImage({
      name: 'ot-8bit.dcm', what: 'unsigned 8-bit secondary capture (source of the deflate case)',
      label: 'ot', sopClassUid: SopClass.SecondaryCaptureImageStorage, modality: 'OT', n: 5,
      image: grey(256, 256, { allocated: 8, stored: 8, signed: false }),
      pixels: storedValues(ot.values, 255, 0, 'Uint8Array'),
    }),
    transcoded('ot-deflate.dcm', get('ot-8bit.dcm'), { what: 'deflated explicit VR little endian', transferSyntaxUid: TransferSyntax.DeflatedExplicitVRLittleEndian, tool: 'dcmconv', args: ['+td'] }),
    nativeImage({
      name: 'sc-rgb.dcm', what: 'RGB 8-bit secondary capture (source of the colour JPEG case)',
      label: 'sc', sopClassUid: SopClass.SecondaryCaptureImageStorage, modality: 'OT', n: 6,
      image: { ...grey(100, 100, { allocated: 8, stored: 8, signed: false }, 'RGB'), samplesPerPixel: 3 },
      pixels: colourPixels(107, 100, 100, 1),
    }),
    transcoded('sc-rgb-jpeg-baseline.dcm', get('sc-rgb.dcm'), {
      what: 'JPEG baseline colour, YBR_FULL (4:4:4)', transferSyntaxUid: TransferSyntax.JpegBaseline, tool: 'dcmcjpeg', args: ['+eb', '+q', '95', '+s4', '+un'],
      photometric: 'YBR_FULL', tolerance: { maxAbs: 48, meanAbs: 3 },
    }),
    nativeImage({
      name: 'us-multiframe-rgb.dcm', what: 'an 8-frame RGB ultrasound (source of the multi-frame JPEG case)',
      label: 'us', sopClassUid: SopClass.UltrasoundMultiFrameImageStorage, modality: 'US', n: 7, multiFrame: true,
      image: { ...grey(120, 160, { allocated: 8, stored: 8, signed: false }, 'RGB'), samplesPerPixel: 3, frames: 8 },
      pixels: colourPixels(108, 160, 120, 8),
    }),
    transcoded('us-multiframe-jpeg-ybr422.dcm', get('us-multiframe-rgb.dcm'), {
      what: 'multi-frame (8) JPEG baseline, YBR_FULL_422', transferSyntaxUid: TransferSyntax.JpegBaseline, tool: 'dcmcjpeg', args: ['+eb', '+q', '95', '+s2', '+un'],
      photometric: 'YBR_FULL_422', tolerance: { maxAbs: 96, meanAbs: 5 },
    }),
    nativeImage({
      name: 'cr-monochrome1.dcm', what: 'a chest phantom CR: MONOCHROME1, 10 bits stored, window 550/1024, large frame',
      label: 'cr', sopClassUid: SopClass.ComputedRadiographyImageStorage, modality: 'CR', n: 8,
      image: { ...grey(cr.height, cr.width, { allocated: 16, stored: 10, signed: false }, 'MONOCHROME1'), window: { center: 550, width: 1024 } },
      // MONOCHROME1: dense (bright on a display) is a low stored value.
      pixels: storedValues(cr.values, -1023, 1023, 'Uint16Array'),
      extraElements: [
        { tag: Tag.BodyPartExamined, vr: 'CS', value: 'CHEST' },
        { tag: Tag.ViewPosition, vr: 'CS', value: 'PA' },
      ],
    }),
    transcoded('cr-j2k-lossless.dcm', get('cr-monochrome1.dcm'), { what: 'JPEG 2000 lossless of the MONOCHROME1 CR', transferSyntaxUid: TransferSyntax.Jpeg2000Lossless, tool: 'gdcmconv', args: ['--quiet', '--j2k'] }),
    transcoded('cr-j2k-lossy.dcm', get('cr-monochrome1.dcm'), {
      what: 'JPEG 2000 lossy (irreversible) of the MONOCHROME1 CR', transferSyntaxUid: TransferSyntax.Jpeg2000, tool: 'gdcmconv', args: ['--quiet', '--j2k', '--lossy', '-r', '10'],
      tolerance: { maxAbs: 128, meanAbs: 16 },
    }),
    nativeImage({
      name: 'ot-modality-lut-sequence.dcm', what: 'Modality LUT Sequence instead of rescale: 4096 entries from -2048, 16 bits',
      label: 'mlut', sopClassUid: SopClass.SecondaryCaptureImageStorage, modality: 'OT', n: 9,
      image: { ...grey(256, 256, { allocated: 16, stored: 12, signed: true }), modalityLut: { firstMapped: -2048, bits: 16, data: mlutLut } },
      pixels: storedValues(ot.values, 4095, -2048, 'Int16Array'),
      extraElements: [{
        tag: Tag.ModalityLutSequence, vr: 'SQ', value: [[
          // (0028,3002) US 4096\63488\16: with Pixel Representation 1 the first mapped value reads as -2048.
          { tag: Tag.LutDescriptor, vr: 'US', value: [4096, 0x10000 - 2048, 16] },
          { tag: Extra.ModalityLutType, vr: 'LO', value: 'US' },
          { tag: Tag.LutData, vr: 'OW', value: Uint16Array.from(mlutLut) },
        ]],
      }],
    }),
    nativeImage({
      name: 'ot-voi-lut-sequence.dcm', what: 'VOI LUT Sequence instead of window centre/width: 256 entries from 0, 16 bits',
      label: 'vlut', sopClassUid: SopClass.SecondaryCaptureImageStorage, modality: 'OT', n: 10,
      image: { ...grey(256, 256, { allocated: 8, stored: 8, signed: false }), voiLut: { firstMapped: 0, bits: 16, data: voiLut } },
      pixels: storedValues(ot.values, 255, 0, 'Uint8Array'),
      extraElements: [{
        tag: Tag.VoiLutSequence, vr: 'SQ', value: [[
          { tag: Tag.LutDescriptor, vr: 'US', value: [256, 0, 16] },
          { tag: Tag.LutData, vr: 'OW', value: Uint16Array.from(voiLut) },
        ]],
      }],
    }),
    segmentation(),
    basicTextSr(),
    rtPlanWithMismatchedMeta(),
    {
      name: 'no-meta.dcm',
      make(ctx) {
        const base = get('ct-signed-rescale.dcm')();
        ctx.tool('dcmconv', ['-F', '+ti', join(ctx.dir, base.name), join(ctx.dir, 'no-meta.dcm')]);
        const { transferSyntaxUid: _dropped, ...rest } = base;
        return {
          ...rest, name: 'no-meta.dcm', what: 'a data set without preamble and file meta information', madeBy: `dcmconv -F +ti from ${base.name}`,
          refusal: { error: 'DicomParseError', reason: 'not_part10', message: 'DICM' },
        };
      },
    },
    metaWithoutTransferSyntax(),
    {
      name: 'mr-truncated.dcm',
      make(ctx) {
        const base = get('mr-explicit.dcm')();
        const bytes = readFileSync(join(ctx.dir, base.name));
        // Cut 1 KiB off the pixel data: its (7FE0,0010) length now runs past the end of the file.
        writeFileSync(join(ctx.dir, 'mr-truncated.dcm'), bytes.subarray(0, bytes.length - 1024));
        return {
          ...base, name: 'mr-truncated.dcm', what: 'pixel data cut short: must be refused cleanly', madeBy: `the last 1024 bytes of ${base.name} cut off`,
          refusal: { error: 'DicomParseError', reason: 'truncated', message: 'overrun' },
        };
      },
    },
  ];
  return recipes.map((recipe) => ({
    name: recipe.name,
    make(ctx) {
      const entry = recipe.make(ctx);
      made.set(entry.name, entry);
      return entry;
    },
  }));
}

function segmentation(): CaseRecipe {
  return {
    name: 'seg-1bit.dcm',
    make(ctx) {
      const id = identity('seg', SopClass.SegmentationStorage, 'SEG', 11);
      const rows = 64;
      const columns = 64;
      // A disc, one bit per pixel, least significant bit first (PS3.5 §8.1.1).
      const packed = new Uint8Array((rows * columns) / 8);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < columns; x++) {
          if ((x - 32) ** 2 + (y - 30) ** 2 < 300) packed[(y * columns + x) >> 3]! |= 1 << ((y * columns + x) & 7);
        }
      }
      const image: CorpusImage = { ...grey(rows, columns, { allocated: 1, stored: 1, signed: false }), highBit: 0 };
      const elements: DataElement[] = [
        ...commonElements(id),
        ...imagePixelElements(image, true),
        { tag: Extra.SegmentationType, vr: 'CS', value: 'BINARY' },
        {
          tag: Extra.SegmentSequence, vr: 'SQ', value: [[
            { tag: Extra.SegmentNumber, vr: 'US', value: 1 },
            { tag: Extra.SegmentLabel, vr: 'LO', value: 'Disc' },
            { tag: Extra.SegmentAlgorithmType, vr: 'CS', value: 'MANUAL' },
          ]],
        },
        { tag: Tag.PixelData, vr: 'OB', value: packed },
      ];
      writeFileSync(join(ctx.dir, 'seg-1bit.dcm'), part10(id, elements));
      return { name: 'seg-1bit.dcm', what: 'a Segmentation: 1-bit pixels, not an image to analyse', madeBy: "@cxr/dicom's writer", transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian, ...id, image };
    },
  };
}

const code = (value: string, scheme: string, meaning: string): DataElement[] => [
  { tag: Tag.CodeValue, vr: 'SH', value },
  { tag: Tag.CodingSchemeDesignator, vr: 'SH', value: scheme },
  { tag: Tag.CodeMeaning, vr: 'LO', value: meaning },
];

function basicTextSr(): CaseRecipe {
  return {
    name: 'sr-basic-text.dcm',
    make(ctx) {
      const id = identity('sr', SopClass.BasicTextSR, 'SR', 12);
      const elements: DataElement[] = [
        ...commonElements(id),
        { tag: Tag.ContentDate, vr: 'DA', value: id.identifiers.studyDate },
        { tag: Tag.ContentTime, vr: 'TM', value: '101500' },
        { tag: Extra.ValueType, vr: 'CS', value: 'CONTAINER' },
        { tag: Extra.ConceptNameCodeSequence, vr: 'SQ', value: [code('18748-4', 'LN', 'Diagnostic imaging report')] },
        { tag: Extra.ContinuityOfContent, vr: 'CS', value: 'SEPARATE' },
        { tag: Extra.CompletionFlag, vr: 'CS', value: 'COMPLETE' },
        { tag: Extra.VerificationFlag, vr: 'CS', value: 'UNVERIFIED' },
        {
          tag: Extra.ContentSequence, vr: 'SQ', value: [[
            { tag: Extra.RelationshipType, vr: 'CS', value: 'CONTAINS' },
            { tag: Extra.ValueType, vr: 'CS', value: 'TEXT' },
            { tag: Extra.ConceptNameCodeSequence, vr: 'SQ', value: [code('121071', 'DCM', 'Finding')] },
            { tag: Extra.TextValue, vr: 'UT', value: 'Synthetic finding text written for the test corpus.' },
          ]],
        },
      ];
      writeFileSync(join(ctx.dir, 'sr-basic-text.dcm'), part10(id, elements));
      return { name: 'sr-basic-text.dcm', what: 'a Basic Text Structured Report: no pixels', madeBy: "@cxr/dicom's writer", transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian, ...id };
    },
  };
}

function rtPlanWithMismatchedMeta(): CaseRecipe {
  return {
    name: 'rtplan-meta-mismatch.dcm',
    make(ctx) {
      const id = identity('rtplan', SopClass.RTPlanStorage, 'RTPLAN', 13);
      const elements: DataElement[] = [
        ...commonElements(id),
        { tag: Extra.RtPlanLabel, vr: 'SH', value: 'CORPUSPLAN' },
        { tag: Extra.RtPlanDate, vr: 'DA', value: id.identifiers.studyDate },
        { tag: Extra.RtPlanGeometry, vr: 'CS', value: 'PATIENT' },
        { tag: Extra.ApprovalStatus, vr: 'CS', value: 'UNAPPROVED' },
      ];
      const explicit = join(ctx.dir, 'rtplan-explicit.tmp');
      writeFileSync(explicit, part10(id, elements));
      // Implicit VR as most RT objects travel; then one digit of the meta header's (0002,0003)
      // is changed in place, so it no longer names the data set's SOP Instance UID.
      const out = join(ctx.dir, 'rtplan-meta-mismatch.dcm');
      ctx.tool('dcmconv', ['+ti', explicit, out]);
      const bytes = readFileSync(out);
      const at = bytes.indexOf(Buffer.from([0x02, 0x00, 0x03, 0x00, 0x55, 0x49]), PREAMBLE_LENGTH);
      let last = at + 8 + bytes.readUInt16LE(at + 6) - 1;
      if (bytes[last] === 0) last -= 1;
      bytes[last] = bytes[last] === 0x31 ? 0x32 : 0x31;
      writeFileSync(out, bytes);
      return {
        name: 'rtplan-meta-mismatch.dcm', what: 'a non-image RT Plan, implicit VR, whose meta (0002,0003) differs from its SOP Instance UID',
        madeBy: "@cxr/dicom's writer, dcmconv +ti, one meta header digit changed", transferSyntaxUid: TransferSyntax.ImplicitVRLittleEndian, ...id,
        refusal: { error: 'DicomValidationError', reason: 'sop_instance_mismatch', message: '(0002,0003)' },
      };
    },
  };
}

function metaWithoutTransferSyntax(): CaseRecipe {
  return {
    name: 'meta-missing-transfer-syntax.dcm',
    make(ctx) {
      const id = identity('nots', SopClass.SecondaryCaptureImageStorage, 'OT', 14);
      // File meta information written by hand: everything but (0002,0010).
      const group = encodeDataSet([
        { tag: Tag.FileMetaInformationVersion, vr: 'OB', value: Uint8Array.of(0, 1) },
        { tag: Tag.MediaStorageSopClassUid, vr: 'UI', value: id.sopClassUid },
        { tag: Tag.MediaStorageSopInstanceUid, vr: 'UI', value: id.sopInstanceUid },
        { tag: Tag.ImplementationClassUid, vr: 'UI', value: corpusUid('implementation') },
      ]);
      const bytes = Buffer.concat([
        Buffer.alloc(PREAMBLE_LENGTH),
        Buffer.from(DICM_PREFIX, 'latin1'),
        encodeElement({ tag: Tag.FileMetaInformationGroupLength, vr: 'UL', value: group.length }),
        group,
        encodeDataSet(commonElements(id)),
      ]);
      writeFileSync(join(ctx.dir, 'meta-missing-transfer-syntax.dcm'), bytes);
      return {
        name: 'meta-missing-transfer-syntax.dcm', what: 'file meta information lacking the transfer syntax', madeBy: "@cxr/dicom's writer, meta group by hand", ...id,
        refusal: { error: 'DicomValidationError', reason: 'missing_transfer_syntax', message: 'Transfer Syntax UID (0002,0010)' },
      };
    },
  };
}
