import { ImageReadError } from './errors';

/**
 * Decoders for DICOM's compressed pixel encodings. The JPEG, JPEG-LS and JPEG 2000 codecs are the cornerstone
 * Emscripten (WASM) builds, instantiated once on first use; JPEG Lossless uses jpeg-lossless-decoder-js; RLE is
 * written here (PS3.5 Annex G is a page long).
 */

/** Samples of one frame as the codec produced them: 1 or 2 bytes each, little endian. */
export interface DecodedFrame {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  bytes: Uint8Array;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  delete(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;

const wasmModules = new Map<string, Promise<WasmModule>>();

function loadWasm(modulePath: string): Promise<WasmModule> {
  let loaded = wasmModules.get(modulePath);
  if (!loaded) {
    const factory = require(modulePath) as (options: object) => Promise<WasmModule>;
    // The codecs print progress notes (OpenJPEG's [INFO] lines); failures still arrive as exceptions.
    loaded = factory({ print: () => undefined, printErr: () => undefined });
    wasmModules.set(modulePath, loaded);
  }
  return loaded;
}

async function decodeWithWasm(source: string, what: string, modulePath: string, className: string, encoded: Uint8Array): Promise<DecodedFrame> {
  const wasm = await loadWasm(modulePath);
  const decoder = new wasm[className]();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    return { width: info.width, height: info.height, bitsPerSample: info.bitsPerSample, componentCount: info.componentCount, bytes: decoder.getDecodedBuffer().slice() };
  } catch (err) {
    // A WASM abort can leave the instance unusable: the next call starts a fresh one.
    wasmModules.delete(modulePath);
    const detail = err instanceof Error ? err.message : String(err);
    throw new ImageReadError(source, `corrupt ${what} pixel data (${detail})`);
  } finally {
    try { decoder.delete(); } catch { /* instance already gone after an abort */ }
  }
}

export function decodeJpegBaseline(source: string, encoded: Uint8Array): Promise<DecodedFrame> {
  return decodeWithWasm(source, 'JPEG', '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder', encoded);
}

export function decodeJpegLs(source: string, encoded: Uint8Array): Promise<DecodedFrame> {
  return decodeWithWasm(source, 'JPEG-LS', '@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder', encoded);
}

export function decodeJpeg2000(source: string, encoded: Uint8Array): Promise<DecodedFrame> {
  return decodeWithWasm(source, 'JPEG 2000', '@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder', encoded);
}

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  xDim: number;
  yDim: number;
  precision: number | undefined;
  numComp: number;
}

/** JPEG Lossless, Non-Hierarchical (processes 14 and 14 SV1). */
export function decodeJpegLossless(source: string, encoded: Uint8Array, bitsAllocated: number): DecodedFrame {
  const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const decoder = new Decoder();
  let samples: Uint8Array | Uint16Array;
  try {
    // A copy that owns its ArrayBuffer: the decoder reads `buffer` from offset 0.
    const copy = new Uint8Array(encoded);
    samples = decoder.decode(copy.buffer, 0, copy.length, bitsAllocated <= 8 ? 1 : 2);
  } catch (err) {
    throw new ImageReadError(source, `corrupt JPEG Lossless pixel data (${err instanceof Error ? err.message : String(err)})`);
  }
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  return { width: decoder.xDim, height: decoder.yDim, bitsPerSample: decoder.precision ?? bitsAllocated, componentCount: decoder.numComp, bytes };
}

/** PackBits-decodes one RLE segment into `out`, which it must fill exactly. */
function unpackSegment(source: string, encoded: Uint8Array, start: number, end: number, out: Uint8Array): void {
  let i = start;
  let o = 0;
  while (o < out.length && i < end) {
    const n = (encoded[i++] << 24) >> 24;
    if (n >= 0) {
      const count = n + 1;
      if (i + count > end || o + count > out.length) break;
      out.set(encoded.subarray(i, i + count), o);
      i += count;
      o += count;
    } else if (n > -128) {
      const count = 1 - n;
      if (i >= end || o + count > out.length) break;
      out.fill(encoded[i++], o, o + count);
      o += count;
    }
  }
  if (o !== out.length) throw new ImageReadError(source, `corrupt RLE pixel data: a segment decodes to ${o} of ${out.length} bytes`);
}

/**
 * DICOM RLE Lossless: one segment per byte plane, most significant first, sample by sample (PS3.5 G.2);
 * colour samples come back interleaved.
 */
export function decodeRle(source: string, encoded: Uint8Array, width: number, height: number, bitsAllocated: number, samples = 1): DecodedFrame {
  const bytesPerSample = bitsAllocated / 8;
  if (encoded.length < 64) throw new ImageReadError(source, 'corrupt RLE pixel data: header shorter than 64 bytes');
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== bytesPerSample * samples) {
    throw new ImageReadError(source, `RLE data has ${segments} segments; ${bytesPerSample * samples} expected for ${samples} ${bitsAllocated}-bit sample(s) per pixel`);
  }
  const count = width * height;
  const bytes = new Uint8Array(count * bytesPerSample * samples);
  const plane = new Uint8Array(count);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.length;
    if (start < 64 || start > end || end > encoded.length) throw new ImageReadError(source, `corrupt RLE pixel data: segment ${s + 1} offsets out of range`);
    unpackSegment(source, encoded, start, end, plane);
    // Each sample's first segment holds its most significant byte; samples are assembled little endian.
    const sample = Math.floor(s / bytesPerSample);
    const byteIndex = bytesPerSample - 1 - (s % bytesPerSample);
    for (let p = 0; p < count; p++) bytes[(p * samples + sample) * bytesPerSample + byteIndex] = plane[p];
  }
  return { width, height, bitsPerSample: bitsAllocated, componentCount: samples, bytes };
}
