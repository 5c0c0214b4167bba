import { readFileSync } from 'fs';
import { dirname, resolve } from 'path';
import { inflateSync } from 'zlib';
import { checkDimensions, ImageReadError } from './errors';
import { DecodedImage, ImageInfo } from './types';

/** ITK MetaImage (.mha with the data inline after `ElementDataFile = LOCAL`, or .mhd naming a raw file). */

const ELEMENT_TYPES: Record<string, { bytes: number; bits: number; read: (b: Buffer, at: number, msb: boolean) => number; range: [number, number] }> = {
  MET_UCHAR: { bytes: 1, bits: 8, read: (b, at) => b[at], range: [0, 255] },
  MET_CHAR: { bytes: 1, bits: 8, read: (b, at) => b.readInt8(at), range: [-128, 127] },
  MET_USHORT: { bytes: 2, bits: 16, read: (b, at, msb) => (msb ? b.readUInt16BE(at) : b.readUInt16LE(at)), range: [0, 65535] },
  MET_SHORT: { bytes: 2, bits: 16, read: (b, at, msb) => (msb ? b.readInt16BE(at) : b.readInt16LE(at)), range: [-32768, 32767] },
  MET_UINT: { bytes: 4, bits: 32, read: (b, at, msb) => (msb ? b.readUInt32BE(at) : b.readUInt32LE(at)), range: [0, 4294967295] },
  MET_INT: { bytes: 4, bits: 32, read: (b, at, msb) => (msb ? b.readInt32BE(at) : b.readInt32LE(at)), range: [-2147483648, 2147483647] },
  MET_FLOAT: { bytes: 4, bits: 32, read: (b, at, msb) => (msb ? b.readFloatBE(at) : b.readFloatLE(at)), range: [0, 1] },
  MET_DOUBLE: { bytes: 8, bits: 64, read: (b, at, msb) => (msb ? b.readDoubleBE(at) : b.readDoubleLE(at)), range: [0, 1] },
};

interface MhaHeader {
  width: number;
  height: number;
  channels: number;
  elementType: string;
  msb: boolean;
  compressed: boolean;
  compressedSize?: number;
  spacing?: [number, number];
  /** Byte offset of inline data, or the external data file. */
  dataOffset: number;
  dataFile?: string;
}

function readHeader(buf: Buffer, source: string): MhaHeader {
  const fail = (problem: string): never => { throw new ImageReadError(source, problem); };
  const fields = new Map<string, string>();
  let offset = 0;
  let lineNo = 0;
  for (;;) {
    const end = buf.indexOf(0x0a, offset);
    if (end < 0 || end - offset > 4096) fail('MetaImage header has no ElementDataFile line');
    lineNo++;
    const line = buf.toString('latin1', offset, end).replace(/\r$/, '');
    offset = end + 1;
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) fail(`MetaImage header line ${lineNo} is not 'Key = Value': ${JSON.stringify(line.slice(0, 60))}`);
    const key = line.slice(0, eq).trim();
    fields.set(key, line.slice(eq + 1).trim());
    if (key === 'ElementDataFile') break;
  }
  const numbers = (key: string): number[] | undefined => fields.get(key)?.split(/\s+/).map(Number);
  const isTrue = (key: string): boolean => /^true$/i.test(fields.get(key) ?? '');
  const dims = numbers('DimSize');
  if (!dims || dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 1)) fail(`MetaImage DimSize is missing or invalid: ${fields.get('DimSize') ?? '(absent)'}`);
  if (dims!.slice(2).some((d) => d !== 1)) fail(`MetaImage of size ${dims!.join('x')} is not a 2-D image`);
  const elementType = fields.get('ElementType') ?? '';
  if (!ELEMENT_TYPES[elementType]) fail(`unsupported MetaImage ElementType '${elementType}'`);
  const channels = Number(fields.get('ElementNumberOfChannels') ?? '1');
  if (![1, 3, 4].includes(channels)) fail(`unsupported ElementNumberOfChannels ${channels}`);
  const spacing = numbers('ElementSpacing') ?? numbers('ElementSize');
  const header: MhaHeader = {
    width: dims![0],
    height: dims![1],
    channels,
    elementType,
    msb: isTrue('BinaryDataByteOrderMSB') || isTrue('ElementByteOrderMSB'),
    compressed: isTrue('CompressedData'),
    dataOffset: offset,
  };
  if (spacing && spacing.length >= 2 && spacing.slice(0, 2).every((s) => Number.isFinite(s) && s > 0)) header.spacing = [spacing[1], spacing[0]];
  const compressedSize = Number(fields.get('CompressedDataSize'));
  if (Number.isFinite(compressedSize) && compressedSize > 0) header.compressedSize = compressedSize;
  const dataFile = fields.get('ElementDataFile')!;
  if (dataFile !== 'LOCAL') {
    if (/\s/.test(dataFile) || dataFile === 'LIST') fail(`MetaImage ElementDataFile '${dataFile}' (file lists) is not supported`);
    header.dataFile = dataFile;
  }
  return header;
}

function bitsOf(h: MhaHeader): number {
  return ELEMENT_TYPES[h.elementType].bits;
}

export function readMhaInfo(buf: Buffer, source: string): ImageInfo {
  const h = readHeader(buf, source);
  const info: ImageInfo = { format: 'mha', width: h.width, height: h.height, bitsStored: bitsOf(h), photometric: h.channels === 1 ? 'MONOCHROME2' : 'RGB' };
  if (h.spacing) info.pixelSpacingMm = h.spacing;
  return info;
}

/** `path` locates an external data file (.mhd); inline .mha data needs none. */
export function decodeMha(buf: Buffer, source: string, maxPixels: number, path?: string): DecodedImage {
  const h = readHeader(buf, source);
  checkDimensions(source, h.width, h.height, maxPixels);
  const type = ELEMENT_TYPES[h.elementType];
  const expected = h.width * h.height * h.channels * type.bytes;
  let raw: Buffer;
  if (h.dataFile) {
    if (!path) throw new ImageReadError(source, `MetaImage data is in a separate file '${h.dataFile}'; read it from a path`);
    const dataPath = resolve(dirname(path), h.dataFile);
    try {
      raw = readFileSync(dataPath);
    } catch (err) {
      throw new ImageReadError(source, `cannot read its data file ${dataPath}: ${(err as Error).message}`);
    }
  } else {
    raw = buf.subarray(h.dataOffset);
  }
  if (h.compressed) {
    const packed = h.compressedSize !== undefined ? raw.subarray(0, h.compressedSize) : raw;
    try {
      raw = inflateSync(packed, { maxOutputLength: Math.max(expected, 1) });
    } catch (err) {
      throw new ImageReadError(source, `corrupt zlib data in MetaImage: ${(err as Error).message}`);
    }
  }
  if (raw.length < expected) throw new ImageReadError(source, `truncated MetaImage: pixel data needs ${expected} bytes, has ${raw.length}`);
  const count = h.width * h.height;
  const data = new Float32Array(count);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    let v: number;
    if (h.channels === 1) {
      v = type.read(raw, i * type.bytes, h.msb);
    } else {
      const at = i * h.channels * type.bytes;
      v = 0.299 * type.read(raw, at, h.msb) + 0.587 * type.read(raw, at + type.bytes, h.msb) + 0.114 * type.read(raw, at + 2 * type.bytes, h.msb);
    }
    data[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const floating = h.elementType === 'MET_FLOAT' || h.elementType === 'MET_DOUBLE';
  // Floating images have no defined range: use what is there.
  const valueRange: [number, number] = floating ? [min, max > min ? max : min + 1] : type.range;
  return { ...readMhaInfo(buf, source), data, valueRange };
}
