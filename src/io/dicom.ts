import { inflateRawSync } from 'zlib';
import * as dicomParser from 'dicom-parser';
import { rawDicomSyntax } from './detect';
import { decodeJpeg2000, decodeJpegBaseline, decodeJpegLossless, decodeJpegLs, decodeRle, DecodedFrame } from './dicom-codecs';
import { checkDimensions, DEFAULT_MAX_PIXELS, ImageReadError } from './errors';
import { decodeJpegSequential } from './jpeg-extended';
import { DecodedImage, ImageInfo } from './types';

/** DICOM images: single frame, one sample per pixel (radiographs), native or compressed pixel data. */

export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless (Process 14, SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'HTJ2K (Lossless RPCL)',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);

/** Header facts plus what decoding needs. */
interface DicomHeader extends ImageInfo {
  transferSyntax: string;
  bitsAllocated: number;
  highBit: number;
  signed: boolean;
  samplesPerPixel: number;
  frames: number;
}

function parse(bytes: Uint8Array, source: string, maxPixels: number, untilTag?: string): dicomParser.DataSet {
  const raw = rawDicomSyntax(bytes);
  const isPart10 = bytes.length > 132 && Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') === 'DICM';
  const options: dicomParser.ParseDicomOptions = {
    untilTag,
    // Without a preamble there is no meta header to name the syntax: the first element tells (see detect.ts).
    TransferSyntaxUID: isPart10 ? undefined : raw === 'explicit' ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2',
    inflater: (byteArray: Uint8Array, position: number) => {
      // Bounded so that a small deflated file cannot claim unbounded memory.
      const limit = Math.min(maxPixels * 8 + (64 << 20), 0x7fffffff);
      let inflated: Buffer;
      try {
        inflated = inflateRawSync(byteArray.subarray(position), { maxOutputLength: limit });
      } catch (err) {
        throw new ImageReadError(source, `corrupt deflated DICOM data set (${(err as Error).message})`);
      }
      const whole = new Uint8Array(position + inflated.length);
      whole.set(byteArray.subarray(0, position), 0);
      whole.set(inflated, position);
      return whole;
    },
  };
  try {
    return dicomParser.parseDicom(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  } catch (err) {
    if (err instanceof ImageReadError) throw err;
    const detail = err instanceof Error ? err.message : typeof err === 'string' ? err : (err as { exception?: string }).exception ?? String(err);
    throw new ImageReadError(source, `corrupt or truncated DICOM (${detail.replace(/^dicomParser[.:]\w+: /, '')})`);
  }
}

function spacingOf(ds: dicomParser.DataSet, tag: string): [number, number] | undefined {
  const row = ds.floatString(tag, 0);
  const col = ds.floatString(tag, 1);
  return row !== undefined && col !== undefined && row > 0 && col > 0 ? [row, col] : undefined;
}

function readHeader(ds: dicomParser.DataSet, source: string): DicomHeader {
  const fail = (problem: string): never => { throw new ImageReadError(source, problem); };
  const transferSyntax = ds.string('x00020010') ?? '1.2.840.10008.1.2';
  if (!ds.elements.x7fe00010) fail('DICOM file has no pixel data');
  const width = ds.uint16('x00280011') ?? 0;
  const height = ds.uint16('x00280010') ?? 0;
  const bitsAllocated = ds.uint16('x00280100') ?? 0;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  const frames = ds.intString('x00280008') ?? 1;
  if (![8, 16, 32].includes(bitsAllocated)) fail(`unsupported DICOM BitsAllocated ${bitsAllocated}`);
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    fail(`inconsistent DICOM bit layout: BitsAllocated ${bitsAllocated}, BitsStored ${bitsStored}, HighBit ${highBit}`);
  }
  if (samplesPerPixel !== 1 || !photometric.startsWith('MONOCHROME')) {
    fail(`unsupported DICOM colour image (${samplesPerPixel} samples per pixel, ${photometric}): radiographs are MONOCHROME1/2`);
  }
  if (frames !== 1) fail(`multi-frame DICOM (${frames} frames) is not supported: one radiograph per file`);
  const header: DicomHeader = {
    format: 'dicom', width, height, bitsStored, photometric, transferSyntax, bitsAllocated, highBit,
    signed: ds.uint16('x00280103') === 1, samplesPerPixel, frames,
  };
  const modality = ds.string('x00080060');
  if (modality) header.modality = modality;
  const spacing = spacingOf(ds, 'x00280030') ?? spacingOf(ds, 'x00181164');
  if (spacing) header.pixelSpacingMm = spacing;
  return header;
}

function toInfo(h: DicomHeader): ImageInfo {
  const info: ImageInfo = { format: 'dicom', width: h.width, height: h.height, bitsStored: h.bitsStored, photometric: h.photometric, transferSyntax: h.transferSyntax };
  if (h.modality) info.modality = h.modality;
  if (h.pixelSpacingMm) info.pixelSpacingMm = h.pixelSpacingMm;
  return info;
}

export function readDicomInfo(bytes: Uint8Array, source: string): ImageInfo {
  return toInfo(readHeader(parse(bytes, source, DEFAULT_MAX_PIXELS), source));
}

/** The frame header of a JPEG-family stream (SOFn, JPEG-LS SOF55) or a JPEG 2000 codestream (SIZ), if found. */
function streamHeader(encoded: Uint8Array): { width: number; height: number; precision?: number } | undefined {
  const u16 = (at: number): number => (encoded[at] << 8) | encoded[at + 1];
  const u32 = (at: number): number => u16(at) * 65536 + u16(at + 2);
  if (u16(0) === 0xff4f && u16(2) === 0xff51 && encoded.length >= 24) {
    // SIZ: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz (the image is Xsiz - XOsiz wide).
    return { width: u32(8) - u32(16), height: u32(12) - u32(20) };
  }
  for (let i = 2; i + 9 < encoded.length; ) {
    if (encoded[i] !== 0xff) return undefined;
    const marker = encoded[i + 1];
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) return { precision: encoded[i + 4], height: u16(i + 5), width: u16(i + 7) };
    i += 2 + u16(i + 2);
  }
  return undefined;
}

async function decodeFrame(ds: dicomParser.DataSet, h: DicomHeader, source: string): Promise<DecodedFrame> {
  const element = ds.elements.x7fe00010;
  const bytes = ds.byteArray;
  const name = TRANSFER_SYNTAXES[h.transferSyntax];
  if (!name) throw new ImageReadError(source, `unsupported DICOM transfer syntax ${h.transferSyntax}`);
  if (NATIVE.has(h.transferSyntax)) {
    const need = h.width * h.height * (h.bitsAllocated / 8);
    if (element.encapsulatedPixelData) throw new ImageReadError(source, `encapsulated pixel data in native transfer syntax ${name}`);
    if (element.length < need || element.dataOffset + need > bytes.length) {
      throw new ImageReadError(source, `truncated DICOM pixel data: ${need} bytes needed, ${Math.min(element.length, bytes.length - element.dataOffset)} present`);
    }
    // A copy (Buffer#slice would share memory, and big endian data is swapped in place).
    const frame = new Uint8Array(bytes.subarray(element.dataOffset, element.dataOffset + need));
    if (h.transferSyntax === '1.2.840.10008.1.2.2' && h.bitsAllocated > 8) {
      if (h.bitsAllocated === 16) Buffer.from(frame.buffer, frame.byteOffset, frame.length).swap16();
      else Buffer.from(frame.buffer, frame.byteOffset, frame.length).swap32();
    }
    return { width: h.width, height: h.height, bitsPerSample: h.bitsStored, componentCount: 1, bytes: frame };
  }
  if (!element.encapsulatedPixelData || !element.fragments || element.fragments.length === 0) {
    throw new ImageReadError(source, `DICOM in ${name} has no encapsulated pixel data fragments`);
  }
  let encoded: Uint8Array;
  try {
    encoded = dicomParser.readEncapsulatedPixelDataFromFragments(ds, element, 0, element.fragments.length);
  } catch (err) {
    throw new ImageReadError(source, `truncated DICOM pixel data fragments (${String(err)})`);
  }
  if (h.transferSyntax === '1.2.840.10008.1.2.5') return decodeRle(source, encoded, h.width, h.height, h.bitsAllocated);
  // The codecs allocate what the stream declares: hold it to the header's (already limited) size first.
  const stream = streamHeader(encoded);
  if (!stream) throw new ImageReadError(source, `corrupt ${name} pixel data: no frame header in the compressed stream`);
  if (stream.width !== h.width || stream.height !== h.height) {
    throw new ImageReadError(source, `compressed stream is ${stream.width}x${stream.height}, the DICOM header says ${h.width}x${h.height}`);
  }
  switch (h.transferSyntax) {
    case '1.2.840.10008.1.2.4.50':
    case '1.2.840.10008.1.2.4.51': {
      // libjpeg-turbo's WASM build reads 8-bit JPEG only; 12-bit JPEG Extended has its own decoder.
      return (stream.precision ?? 8) > 8 ? decodeJpegSequential(source, encoded) : decodeJpegBaseline(source, encoded);
    }
    case '1.2.840.10008.1.2.4.57':
    case '1.2.840.10008.1.2.4.70':
      return decodeJpegLossless(source, encoded, h.bitsAllocated);
    case '1.2.840.10008.1.2.4.80':
    case '1.2.840.10008.1.2.4.81':
      return decodeJpegLs(source, encoded);
    default:
      return decodeJpeg2000(source, encoded);
  }
}

/** Stored values (masked to BitsStored, sign-extended when PixelRepresentation is 1). */
function storedValues(frame: DecodedFrame, h: DicomHeader, native: boolean, source: string): Float32Array {
  const count = h.width * h.height;
  const bytesPerSample = frame.bytes.length / count;
  if (frame.width !== h.width || frame.height !== h.height || frame.componentCount !== 1 || ![1, 2, 4].includes(bytesPerSample)) {
    throw new ImageReadError(source, `decoded pixel data (${frame.width}x${frame.height}, ${frame.componentCount} components) does not match the header (${h.width}x${h.height})`);
  }
  // Native data keeps HighBit's position; codecs hand back the sample values themselves.
  const shift = native ? h.highBit + 1 - h.bitsStored : 0;
  const mask = h.bitsStored >= 32 ? 0xffffffff : 2 ** h.bitsStored - 1;
  const signBit = 2 ** (h.bitsStored - 1);
  const view = new DataView(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const sample = bytesPerSample === 1 ? view.getUint8(i) : bytesPerSample === 2 ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
    let v = (Math.floor(sample / 2 ** shift) % 2 ** 32) & mask;
    if (v < 0) v += 2 ** 32;
    if (h.signed && v >= signBit) v -= 2 * signBit;
    out[i] = v;
  }
  return out;
}

/** Applies the Modality LUT Sequence, else rescale slope/intercept; returns the output range by definition. */
function applyModalityTransform(ds: dicomParser.DataSet, h: DicomHeader, stored: Float32Array, source: string): { data: Float32Array; valueRange: [number, number] } {
  const storedRange: [number, number] = h.signed ? [-(2 ** (h.bitsStored - 1)), 2 ** (h.bitsStored - 1) - 1] : [0, 2 ** h.bitsStored - 1];
  const lutItem = ds.elements.x00283000?.items?.[0]?.dataSet;
  if (lutItem && lutItem.elements.x00283002 && lutItem.elements.x00283006) {
    const entries = lutItem.uint16('x00283002', 0) || 65536;
    const firstRaw = lutItem.uint16('x00283002', 1) ?? 0;
    const first = h.signed && firstRaw >= 32768 ? firstRaw - 65536 : firstRaw;
    const lutBits = lutItem.uint16('x00283002', 2) ?? 16;
    const lutElement = lutItem.elements.x00283006;
    if (lutElement.length < entries * 2) throw new ImageReadError(source, `Modality LUT has ${lutElement.length / 2} entries, descriptor says ${entries}`);
    const lut = new Float32Array(entries);
    for (let i = 0; i < entries; i++) lut[i] = lutItem.uint16('x00283006', i) ?? 0;
    const data = new Float32Array(stored.length);
    for (let i = 0; i < stored.length; i++) data[i] = lut[Math.min(entries - 1, Math.max(0, stored[i] - first))];
    return { data, valueRange: [0, 2 ** lutBits - 1] };
  }
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  if (slope === 1 && intercept === 0) return { data: stored.slice(), valueRange: storedRange };
  const data = new Float32Array(stored.length);
  for (let i = 0; i < stored.length; i++) data[i] = stored[i] * slope + intercept;
  const a = storedRange[0] * slope + intercept;
  const b = storedRange[1] * slope + intercept;
  return { data, valueRange: [Math.min(a, b), Math.max(a, b)] };
}

export interface DicomDecoded extends DecodedImage {
  /** Stored pixel values before any LUT, rescale or inversion (what `lmk inspect` summarises). */
  stored: Float32Array;
}

export async function decodeDicom(bytes: Uint8Array, source: string, maxPixels: number): Promise<DicomDecoded> {
  const ds = parse(bytes, source, maxPixels);
  const h = readHeader(ds, source);
  checkDimensions(source, h.width, h.height, maxPixels);
  const frame = await decodeFrame(ds, h, source);
  const stored = storedValues(frame, h, NATIVE.has(h.transferSyntax), source);
  const { data, valueRange } = applyModalityTransform(ds, h, stored, source);
  if (h.photometric === 'MONOCHROME1') {
    // MONOCHROME1 shows low values bright; the model is trained on MONOCHROME2 (bright = dense).
    const sum = valueRange[0] + valueRange[1];
    for (let i = 0; i < data.length; i++) data[i] = sum - data[i];
  }
  return { ...toInfo(h), data, stored, valueRange };
}

/**
 * What a derived object (an SR about the image) takes over from its source: the identifying UIDs and the
 * Patient and General Study attributes. Text is decoded by the file's SpecificCharacterSet (UTF-8 for ISO_IR
 * 192, Latin-1 otherwise, which also reads plain ASCII).
 */
export interface DicomReferenceAttributes {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  patientName?: string;
  patientId?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyTime?: string;
  referringPhysicianName?: string;
  studyId?: string;
  accessionNumber?: string;
  studyDescription?: string;
}

const REFERENCE_TEXT_TAGS = {
  modality: 'x00080060',
  patientName: 'x00100010',
  patientId: 'x00100020',
  patientBirthDate: 'x00100030',
  patientSex: 'x00100040',
  studyDate: 'x00080020',
  studyTime: 'x00080030',
  referringPhysicianName: 'x00080090',
  studyId: 'x00200010',
  accessionNumber: 'x00080050',
  studyDescription: 'x00081030',
} as const;

/** Reads the reference attributes from the header (the pixel data is not parsed). */
export function readDicomReferenceAttributes(bytes: Uint8Array, source: string): DicomReferenceAttributes {
  const ds = parse(bytes, source, DEFAULT_MAX_PIXELS, 'x7fe00010');
  const utf8 = (ds.string('x00080005') ?? '').includes('ISO_IR 192');
  const text = (tag: string): string | undefined => {
    const el = ds.elements[tag];
    if (!el || el.length === 0) return undefined;
    const raw = Buffer.from(ds.byteArray.buffer, ds.byteArray.byteOffset + el.dataOffset, el.length);
    const value = raw.toString(utf8 ? 'utf8' : 'latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
    return value === '' ? undefined : value;
  };
  const uid = (tag: string, name: string): string => {
    const value = text(tag);
    if (!value) throw new ImageReadError(source, `DICOM file has no ${name}`);
    return value;
  };
  const attributes: DicomReferenceAttributes = {
    sopClassUid: uid('x00080016', 'SOP Class UID'),
    sopInstanceUid: uid('x00080018', 'SOP Instance UID'),
    studyInstanceUid: uid('x0020000d', 'Study Instance UID'),
    seriesInstanceUid: uid('x0020000e', 'Series Instance UID'),
  };
  for (const [key, tag] of Object.entries(REFERENCE_TEXT_TAGS) as [keyof typeof REFERENCE_TEXT_TAGS, string][]) {
    const value = text(tag);
    if (value !== undefined) attributes[key] = value;
  }
  return attributes;
}
