/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}}, then
 * the tensors' bytes, contiguous and little-endian. Hand-written because no well-kept npm package
 * reads it in Node; it is small. Every offset is checked before it is used.
 */
import { promises as fsp } from 'fs';
import { writeFileAtomic } from '../util/fs';
import { formatShape, StateDict } from './state-dict';
import { halvesToFloat32 } from './half';

/** Bytes per element of the dtypes lmk accepts. */
const DTYPE_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };
/** Float dtypes, converted to float32 on reading. F64/I64 (e.g. BatchNorm `num_batches_tracked`) are skipped. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
/** Refuse absurd headers before allocating for them (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SkippedTensor {
  name: string;
  dtype: string;
  shape: number[];
}

export interface SafetensorsContents {
  /** Float tensors as float32, in file order. */
  tensors: StateDict;
  /** Tensors of dtype F64/I64, not loaded. */
  skipped: SkippedTensor[];
  /** The `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
}

function toFloat32(dtype: string, bytes: Uint8Array): Float32Array {
  // safetensors data is little-endian like Node's hosts. Aligned float32 data is used in place;
  // otherwise it is copied into a fresh buffer (Buffer#slice would share memory, not copy).
  if (dtype === 'F32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const copy = new Uint8Array(bytes);
  if (dtype === 'F32') return new Float32Array(copy.buffer, 0, copy.length / 4);
  const halves = new Uint16Array(copy.buffer, 0, copy.length / 2);
  if (dtype === 'F16') return halvesToFloat32(halves);
  // BF16 is the upper half of a float32.
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return new Float32Array(bits.buffer);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

interface HeaderEntry { name: string; dtype: string; shape: number[]; begin: number; end: number }

/** Whether the bytes are a safetensors file's (its header length, then the header's `{`), not an ONNX model's. */
export function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[8] === 0x7b;
}

/**
 * Decodes a safetensors file's bytes; `source` (a file name) starts every error message.
 * Aligned F32 tensors are views into `bytes` (no copy): the result shares memory with it.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  const fail = (what: string): never => { throw new Error(`${source}: not a valid safetensors file: ${what}`); };
  if (bytes.length < 8) fail(`${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(bytes.length - 8, MAX_HEADER_BYTES))) {
    fail(`header length ${headerLength} does not fit in the file (${bytes.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    fail(`header is not UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}' has no description`);
    if (typeof e.dtype !== 'string') fail(`tensor '${name}' has no dtype`);
    const dtype = e.dtype as string;
    const size = DTYPE_SIZE[dtype];
    if (size === undefined) fail(`tensor '${name}' has dtype ${dtype}; lmk reads F32, F16, BF16 (and skips F64, I64)`);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) fail(`tensor '${name}' has a bad shape ${JSON.stringify(e.shape)}`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(`tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      fail(`tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    }
    const shape = e.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * size) {
      fail(`tensor '${name}' (${dtype} ${formatShape(shape)}) needs ${count * size} bytes, data_offsets give ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // The data must be exactly the tensors, back to back.
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of ordered) {
    if (e.begin !== expected) fail(`tensor '${e.name}' starts at byte ${e.begin}, expected ${expected} (overlap or gap)`);
    expected = e.end;
  }
  if (expected !== dataLength) fail(`tensors cover ${expected} of ${dataLength} data bytes`);

  const tensors: StateDict = new Map();
  const skipped: SkippedTensor[] = [];
  for (const e of entries) {
    if (!FLOAT_DTYPES.has(e.dtype)) {
      skipped.push({ name: e.name, dtype: e.dtype, shape: e.shape });
      continue;
    }
    tensors.set(e.name, { dims: e.shape, data: toFloat32(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end)) });
  }
  return { tensors, skipped, metadata };
}

/** A weights file's bytes; a failure names the file. */
export async function readWeightsBytes(path: string): Promise<Buffer> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  return parseSafetensors(await readWeightsBytes(path), path);
}

/** Encodes float32 tensors (in map order) and optional string metadata as safetensors bytes. */
export function serializeSafetensors(tensors: StateDict, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error(`safetensors: '__metadata__' cannot name a tensor`);
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape ${formatShape(t.dims)}`);
    header[name] = { dtype: 'F32', shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Writes tensors as a safetensors file, atomically. */
export async function writeSafetensors(path: string, tensors: StateDict, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
