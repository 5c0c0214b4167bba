import { inflateRawSync } from 'zlib';
import * as dicomParser from 'dicom-parser';
import { rawDicomSyntax } from './detect';
import { decodeJpeg2000, decodeJpegBaseline, decodeJpegLossless, decodeJpegLs, decodeRle, DecodedFrame } from './dicom-codecs';
import { checkDimensions, DEFAULT_MAX_PIXELS, ImageReadError, lumaOf } from './errors';
import { decodeJpegSequential } from './jpeg-extended';
import type { Display } from './display';
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
  /** PlanarConfiguration 1: colour planes one after another (native data only). */
  planar: boolean;
}

/** Colour photometric interpretations lmk reads (as grey, the way colour JPEG files are read). */
const COLOUR_PHOTOMETRICS = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT']);

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
  const grey = samplesPerPixel === 1 && photometric.startsWith('MONOCHROME');
  if (!grey && !(samplesPerPixel === 3 && COLOUR_PHOTOMETRICS.has(photometric))) {
    fail(`unsupported DICOM photometric interpretation ${photometric} with ${samplesPerPixel} samples per pixel (lmk reads MONOCHROME1/2, and RGB, ${[...COLOUR_PHOTOMETRICS].slice(1).join(', ')} as grey)`);
  }
  if (!grey && bitsAllocated !== 8) fail(`unsupported ${bitsAllocated}-bit colour DICOM (colour images are read at 8 bits per sample)`);
  if (frames !== 1) fail(`multi-frame DICOM (${frames} frames) is not supported: one radiograph per file`);
  const header: DicomHeader = {
    format: 'dicom', width, height, bitsStored, photometric, transferSyntax, bitsAllocated, highBit,
    signed: ds.uint16('x00280103') === 1, samplesPerPixel, frames, planar: ds.uint16('x00280006') === 1,
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
    // Native YBR_FULL_422 stores Y0 Y1 Cb Cr per two pixels: 2 samples a pixel.
    const samples = h.samplesPerPixel === 1 ? 1 : h.photometric === 'YBR_FULL_422' ? 2 : 3;
    const need = h.width * h.height * samples * (h.bitsAllocated / 8);
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
    return { width: h.width, height: h.height, bitsPerSample: h.bitsStored, componentCount: h.samplesPerPixel, bytes: frame };
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
  if (h.transferSyntax === '1.2.840.10008.1.2.5') return decodeRle(source, encoded, h.width, h.height, h.bitsAllocated, h.samplesPerPixel);
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

/** Full-range YCbCr (PS3.3 C.7.6.3.1.2) to 8-bit RGB, rounded and clamped as a viewer renders it, then luma. */
function yccLuma(y: number, cb: number, cr: number): number {
  const c8 = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return lumaOf(c8(y + 1.402 * (cr - 128)), c8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)), c8(y + 1.772 * (cb - 128)));
}

/**
 * A colour frame as one grey channel, as lmk reads colour JPEG files: luma of its RGB rendering (BT.601;
 * identical channels stay exact). YBR_FULL(_422) data that no codec turned into RGB (native, RLE, JPEG-LS)
 * is rendered to RGB first, as a viewer does; JPEG and JPEG 2000 decoders hand back RGB.
 */
function colourToGrey(frame: DecodedFrame, h: DicomHeader, source: string): Float32Array {
  const count = h.width * h.height;
  const native = NATIVE.has(h.transferSyntax);
  if (frame.width !== h.width || frame.height !== h.height) throw new ImageReadError(source, `decoded pixel data is ${frame.width}x${frame.height}, the header says ${h.width}x${h.height}`);
  const b = frame.bytes;
  const grey = new Float32Array(count);
  if (native && h.photometric === 'YBR_FULL_422') {
    // Y0 Y1 Cb Cr: two lumas, then the pair's chroma.
    for (let p = 0; p < count; p++) {
      const at = (p >> 1) * 4;
      grey[p] = yccLuma(b[at + (p & 1)], b[at + 2], b[at + 3]);
    }
    return grey;
  }
  if (b.length !== 3 * count) throw new ImageReadError(source, `decoded colour pixel data has ${b.length} bytes, ${3 * count} expected for ${h.width}x${h.height}x3`);
  const converted = !native && !['1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'].includes(h.transferSyntax);
  const toGrey = h.photometric.startsWith('YBR_FULL') && !converted ? yccLuma : lumaOf;
  // Native data may be planar; every decoder here hands back interleaved samples.
  const planar = native && h.planar;
  const at = (p: number, c: number) => (planar ? b[c * count + p] : b[3 * p + c]);
  for (let p = 0; p < count; p++) grey[p] = toGrey(at(p, 0), at(p, 1), at(p, 2));
  return grey;
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
  const out = new Float32Array(count);
  const { buffer, byteOffset } = frame.bytes;
  if (bytesPerSample <= 2 && byteOffset % bytesPerSample === 0) {
    // 8 and 16 bits (nearly every radiograph): typed views and integer shifts, 20x a DataView's pace.
    const samples = bytesPerSample === 1 ? new Uint8Array(buffer, byteOffset, count) : new Uint16Array(buffer, byteOffset, count);
    for (let i = 0; i < count; i++) {
      let v = (samples[i] >>> shift) & mask;
      if (h.signed && v >= signBit) v -= 2 * signBit;
      out[i] = v;
    }
    return out;
  }
  const view = new DataView(buffer, byteOffset, frame.bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const sample = bytesPerSample === 1 ? view.getUint8(i) : bytesPerSample === 2 ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
    let v = (Math.floor(sample / 2 ** shift) % 2 ** 32) & mask;
    if (v < 0) v += 2 ** 32;
    if (h.signed && v >= signBit) v -= 2 * signBit;
    out[i] = v;
  }
  return out;
}

/** Applies the Modality LUT Sequence, else rescale slope/intercept; returns the output range (the LUT's entries', or by definition). */
function applyModalityTransform(ds: dicomParser.DataSet, h: DicomHeader, stored: Float32Array, source: string): { data: Float32Array; valueRange: [number, number] } {
  const storedRange: [number, number] = h.signed ? [-(2 ** (h.bitsStored - 1)), 2 ** (h.bitsStored - 1) - 1] : [0, 2 ** h.bitsStored - 1];
  const lutItem = ds.elements.x00283000?.items?.[0]?.dataSet;
  if (lutItem && lutItem.elements.x00283002 && lutItem.elements.x00283006) {
    const { first, entries: lut } = readLut(lutItem, h.signed, source, 'Modality LUT');
    const last = lut.length - 1;
    const data = new Float32Array(stored.length);
    for (let i = 0; i < stored.length; i++) data[i] = lut[Math.min(last, Math.max(0, stored[i] - first))];
    // The LUT's output range is what its entries hold, not what its bit depth could: a 16-bit LUT of a
    // 10-bit image fills a small part of 0-65535.
    return { data, valueRange: lutRange(lut) };
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

function lutRange(lut: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of lut) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A LUT item's descriptor (entries, first mapped value, bits) and data (PS3.3 C.11.1.1). */
function readLut(item: dicomParser.DataSet, signed: boolean, source: string, what: string): { first: number; entries: Float32Array } {
  const count = item.uint16('x00283002', 0) || 65536;
  const firstRaw = item.uint16('x00283002', 1) ?? 0;
  const first = signed && firstRaw >= 32768 ? firstRaw - 65536 : firstRaw;
  const element = item.elements.x00283006;
  if (element.length < count * 2) throw new ImageReadError(source, `${what} has ${element.length / 2} entries, its descriptor says ${count}`);
  const entries = new Float32Array(count);
  for (let i = 0; i < count; i++) entries[i] = item.uint16('x00283006', i) ?? 0;
  return { first, entries };
}

/**
 * The VOI the file asks for: its VOI LUT Sequence, else its first Window Center/Width (with the VOI LUT
 * Function), else a min-max window over the modality values (what dcmtk's +Wm and most viewers show).
 */
function voiOf(ds: dicomParser.DataSet, h: DicomHeader, data: Float32Array, source: string): Display['window'] {
  const lutItem = ds.elements.x00283010?.items?.[0]?.dataSet;
  if (lutItem && lutItem.elements.x00283002 && lutItem.elements.x00283006) {
    const { first, entries } = readLut(lutItem, h.signed, source, 'VOI LUT');
    const [outMin, outMax] = lutRange(entries);
    return { kind: 'lut', first, entries, outMin, outMax };
  }
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  if (center !== undefined && width !== undefined && Number.isFinite(center) && width > 0) {
    const fn = (ds.string('x00281056') ?? 'LINEAR').trim().toUpperCase();
    if (fn !== 'LINEAR' && fn !== 'LINEAR_EXACT' && fn !== 'SIGMOID') throw new ImageReadError(source, `unknown VOI LUT Function '${fn}' (LINEAR, LINEAR_EXACT or SIGMOID)`);
    return { kind: fn, center, width, source: 'file' };
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // dcmtk's min-max window: min maps to black, max to white, linearly between.
  return { kind: 'LINEAR', center: (min + max + 1) / 2, width: max - min + 1, source: 'min-max' };
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
  if (h.samplesPerPixel === 3) {
    // Colour: grey as a colour JPEG file gives it, shown over 0-255 (the VOI and Modality LUT are monochrome matters).
    const data = colourToGrey(frame, h, source);
    return { ...toInfo(h), data, stored: data, valueRange: [0, 255] };
  }
  const stored = storedValues(frame, h, NATIVE.has(h.transferSyntax), source);
  const { data, valueRange } = applyModalityTransform(ds, h, stored, source);
  // MONOCHROME1 shows low values bright; the model is trained on MONOCHROME2 (bright = dense).
  const display: Display = { window: voiOf(ds, h, data, source), invert: h.photometric === 'MONOCHROME1' };
  return { ...toInfo(h), data, stored, valueRange, display };
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
