/**
 * ONNX graphs as plain data: what the builder writes, what autodiff walks and what
 * serialisation encodes. Values are referred to by name, as in ONNX itself.
 */

export type DataType = 'float32' | 'float16' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool' | 'float64';

/** A dimension: a fixed size, or a symbolic name such as 'N'. */
export type Dim = number | string;

export type TensorData = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array | Uint16Array;

export interface TensorValue {
  dataType: DataType;
  dims: number[];
  data: TensorData;
}

export interface Initializer extends TensorValue {
  name: string;
}

export interface ValueInfo {
  name: string;
  dataType: DataType;
  /** Omitted where the rank is not known. */
  shape?: Dim[];
}

export type AttributeValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorValue }
  /** A subgraph (Loop's body); it may read values of the graphs around it by name. */
  | { type: 'graph'; value: Graph };

export interface Node {
  name: string;
  opType: string;
  /** '' marks an omitted optional input, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  domain?: string;
}

export interface Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Initializer[];
  /** In topological order: every input of a node is a graph input, an initializer or an earlier node's output. */
  nodes: Node[];
}

export interface Model {
  graph: Graph;
  opset: number;
  producerName?: string;
  producerVersion?: string;
  /** Free-form key/value pairs stored in the model (lmk writes its architecture and grid here). */
  metadata?: Record<string, string>;
}

/** Attribute constructors: ONNX distinguishes int and float attributes, JavaScript numbers do not. */
export const attr = {
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  ints: (value: number[]): AttributeValue => ({ type: 'ints', value }),
  floats: (value: number[]): AttributeValue => ({ type: 'floats', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  tensor: (value: TensorValue): AttributeValue => ({ type: 'tensor', value }),
  graph: (value: Graph): AttributeValue => ({ type: 'graph', value }),
};

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Reads an int/ints attribute with a default, for code that walks graphs. */
export function intAttr(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (!a) return fallback;
  if (a.type !== 'int') throw new Error(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected int`);
  return a.value;
}

export function intsAttr(node: Node, name: string, fallback: number[]): number[] {
  const a = node.attributes[name];
  if (!a) return fallback;
  if (a.type !== 'ints') throw new Error(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected ints`);
  return a.value;
}

export function floatAttr(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (!a) return fallback;
  if (a.type !== 'float') throw new Error(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected float`);
  return a.value;
}
