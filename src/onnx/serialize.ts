import { AttributeValue, DataType, Dim, Graph, Initializer, Model, Node, TensorData, TensorValue, ValueInfo } from './graph';
import * as protobuf from 'protobufjs';
import { DATA_TYPE_CODES, ModelProto } from './proto';
import { readFileSync } from 'fs';
import { writeFileAtomic } from '../util/fs';

/** ModelProto.metadata_props. */
const METADATA_PROPS_FIELD = 14;

/** ONNX IR version 8 goes with opset 17. */
const IR_VERSION = 8;

const CODE_TO_TYPE = new Map<number, DataType>(Object.entries(DATA_TYPE_CODES).map(([k, v]) => [v, k as DataType]));

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function tensorProto(t: TensorValue, name?: string): object {
  return { name, dims: t.dims, dataType: DATA_TYPE_CODES[t.dataType], rawData: bytesOf(t.data) };
}

function valueInfoProto(v: ValueInfo): object {
  const tensorType: Record<string, unknown> = { elemType: DATA_TYPE_CODES[v.dataType] };
  if (v.shape) tensorType.shape = { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name: v.name, type: { tensorType } };
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7 } as const;

function attributeProto(name: string, a: AttributeValue): object {
  const base = { name, type: ATTRIBUTE_TYPE[a.type] };
  switch (a.type) {
    case 'int': return { ...base, i: a.value };
    case 'float': return { ...base, f: a.value };
    case 'ints': return { ...base, ints: a.value };
    case 'floats': return { ...base, floats: a.value };
    case 'string': return { ...base, s: Buffer.from(a.value, 'utf8') };
    case 'tensor': return { ...base, t: tensorProto(a.value) };
    case 'graph': return { ...base, g: graphProto(a.value) };
  }
}

function nodeProto(n: Node): object {
  return {
    name: n.name, opType: n.opType, input: n.inputs, output: n.outputs, domain: n.domain ?? '',
    attribute: Object.entries(n.attributes).map(([k, v]) => attributeProto(k, v)),
  };
}

function graphProto(g: Graph): object {
  return {
    name: g.name,
    node: g.nodes.map(nodeProto),
    initializer: g.initializers.map((i) => tensorProto(i, i.name)),
    input: g.inputs.map(valueInfoProto),
    output: g.outputs.map(valueInfoProto),
  };
}

/** Encodes a model as ONNX protobuf bytes that onnxruntime loads. */
export function serializeModel(model: Model): Uint8Array {
  const message = ModelProto.fromObject({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: model.opset }],
    producerName: model.producerName ?? 'lmk',
    producerVersion: model.producerVersion ?? '',
    graph: graphProto(model.graph),
    metadataProps: Object.entries(model.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(message).finish();
}

/** Writes a model to `path` atomically (temporary file, then rename). */
export async function saveModel(model: Model, path: string): Promise<void> {
  await writeFileAtomic(path, serializeModel(model));
}

/** A model file's bytes; a failure is one line naming the file and what it was to be (`role`, e.g. 'first stage'). */
export function readModelFile(path: string, role: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the ${role}: ${(err as Error).message}`);
  }
}

/** `parseModel` of a file's bytes, failing with one line that names the file. */
export function parseModelFile(bytes: Uint8Array, path: string): Model {
  try {
    return parseModel(bytes);
  } catch {
    throw new Error(`${path}: not an ONNX model`);
  }
}

// ---- decoding ----

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'low' in v) return Number((v as { toString(): string }).toString());
  return Number(v);
}

function typedFrom(dataType: DataType, bytes: Uint8Array, count: number): TensorData {
  // Copy into a fresh, aligned buffer: protobuf byte fields may sit at any offset.
  const copy = new Uint8Array(bytes).buffer;
  switch (dataType) {
    case 'float32': return new Float32Array(copy, 0, count);
    case 'float64': return new Float64Array(copy, 0, count);
    case 'int64': return new BigInt64Array(copy, 0, count);
    case 'int32': return new Int32Array(copy, 0, count);
    case 'int8': return new Int8Array(copy, 0, count);
    case 'float16': return new Uint16Array(copy, 0, count);
    case 'uint8': case 'bool': return new Uint8Array(copy, 0, count);
  }
}

interface TensorProtoObject {
  name?: string; dims?: unknown[]; dataType?: number; rawData?: Uint8Array;
  floatData?: number[]; int32Data?: number[]; int64Data?: unknown[]; doubleData?: number[];
}

function decodeTensor(t: TensorProtoObject): Initializer {
  const dataType = CODE_TO_TYPE.get(t.dataType ?? 0);
  if (!dataType) throw new Error(`tensor ${t.name ?? ''}: unsupported ONNX data type ${t.dataType}`);
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: TensorData;
  if (t.rawData && t.rawData.length > 0) data = typedFrom(dataType, t.rawData, count);
  else if (dataType === 'float32') data = Float32Array.from(t.floatData ?? []);
  else if (dataType === 'float64') data = Float64Array.from(t.doubleData ?? []);
  else if (dataType === 'int64') data = BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v))));
  else if (dataType === 'int32') data = Int32Array.from(t.int32Data ?? []);
  else data = Uint8Array.from(t.int32Data ?? []);
  if (data.length !== count) throw new Error(`tensor ${t.name ?? ''}: ${data.length} values for dims [${dims}]`);
  return { name: t.name ?? '', dataType, dims, data };
}

interface ValueInfoObject { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: unknown; dimParam?: string }[] } } } }

function decodeValueInfo(v: ValueInfoObject): ValueInfo {
  const tt = v.type?.tensorType;
  const dataType = CODE_TO_TYPE.get(tt?.elemType ?? 1) ?? 'float32';
  const shape: Dim[] | undefined = tt?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue ?? 0)));
  return { name: v.name ?? '', dataType, shape };
}

interface AttributeObject { name: string; type?: number; i?: unknown; f?: number; s?: Uint8Array; ints?: unknown[]; floats?: number[]; t?: TensorProtoObject; g?: GraphObject }

interface GraphObject {
  name?: string; initializer?: TensorProtoObject[]; input?: ValueInfoObject[]; output?: ValueInfoObject[];
  node?: { name?: string; opType: string; input?: string[]; output?: string[]; domain?: string; attribute?: AttributeObject[] }[];
}

function decodeAttribute(a: AttributeObject): AttributeValue {
  switch (a.type) {
    case 1: return { type: 'float', value: a.f ?? 0 };
    case 2: return { type: 'int', value: toNumber(a.i ?? 0) };
    case 3: return { type: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case 4: { const { name: _n, ...t } = decodeTensor(a.t ?? {}); return { type: 'tensor', value: t }; }
    case 5: return { type: 'graph', value: decodeGraph(a.g ?? {}) };
    case 6: return { type: 'floats', value: a.floats ?? [] };
    case 7: return { type: 'ints', value: (a.ints ?? []).map(toNumber) };
    default: throw new Error(`attribute ${a.name}: unsupported attribute type ${a.type}`);
  }
}

function decodeGraph(g: GraphObject): Graph {
  const initializers = (g.initializer ?? []).map(decodeTensor);
  const initNames = new Set(initializers.map((i) => i.name));
  return {
    name: g.name ?? '',
    inputs: (g.input ?? []).map(decodeValueInfo).filter((v) => !initNames.has(v.name)),
    outputs: (g.output ?? []).map(decodeValueInfo),
    initializers,
    nodes: (g.node ?? []).map((n, k) => {
      const node: Node = {
        name: n.name ?? `node_${k}`, opType: n.opType, inputs: n.input ?? [], outputs: n.output ?? [],
        attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name, decodeAttribute(a)])),
      };
      if (n.domain) node.domain = n.domain;
      return node;
    }),
  };
}

/** Decodes ONNX protobuf bytes (as written by `serializeModel` or another exporter). */
export function parseModel(bytes: Uint8Array): Model {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, arrays: true }) as {
    opsetImport?: { domain?: string; version?: unknown }[]; producerName?: string; producerVersion?: string;
    metadataProps?: { key: string; value: string }[]; graph?: GraphObject;
  };
  if (!m.graph) throw new Error('not an ONNX model: no graph');
  const opset = toNumber(m.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  const graph = decodeGraph(m.graph);
  const metadata = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key, p.value]));
  return { graph, opset, producerName: m.producerName, producerVersion: m.producerVersion, metadata };
}

/**
 * The model's metadata_props without decoding its graph: a scan of the top-level fields that skips
 * the (large) graph field, so reading a 160 MB model's metadata costs no parse of its weights.
 */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const reader = protobuf.Reader.create(bytes);
  const entry = ModelProto.lookupType('onnx.StringStringEntryProto');
  const metadata: Record<string, string> = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === METADATA_PROPS_FIELD && (tag & 7) === 2) {
      const e = entry.decode(reader.bytes()) as unknown as { key: string; value: string };
      metadata[e.key] = e.value;
    } else {
      reader.skipType(tag & 7);
    }
  }
  return metadata;
}
