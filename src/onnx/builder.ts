import { attr, AttributeValue, DataType, Dim, Graph, Initializer, Model, Node, TensorValue } from './graph';

export const OPSET = 17;

export interface OpOptions {
  /** Number of outputs (fresh names) or explicit output names. Default 1. */
  outputs?: number | string[];
  name?: string;
  domain?: string;
}

export interface ConvOptions {
  strides?: number[];
  /** ONNX order: [top, left, bottom, right]. */
  pads?: number[];
  dilations?: number[];
  group?: number;
}

export interface PoolOptions {
  kernel: number[];
  strides?: number[];
  pads?: number[];
  ceilMode?: boolean;
}

/**
 * Writes an ONNX graph as plain data. Value names are unique within a builder;
 * `fresh` hands out new ones. Small int64 and float constants are stored once and shared.
 */
export class GraphBuilder {
  readonly graph: Graph;
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(name = 'lmk') {
    this.graph = { name, inputs: [], outputs: [], initializers: [], nodes: [] };
  }

  /** A new unique value name starting with `prefix`. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph value name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  input(name: string, dataType: DataType, shape: Dim[]): string {
    this.graph.inputs.push({ name: this.claim(name), dataType, shape });
    return name;
  }

  /** Declares `value` a graph output, under `name` (through an Identity) when it differs. */
  output(value: string, name: string = value, dataType: DataType = 'float32', shape?: Dim[]): string {
    const outName = name === value ? value : this.op('Identity', [value], {}, { outputs: [name] })[0];
    this.graph.outputs.push({ name: outName, dataType, shape });
    return outName;
  }

  initializer(name: string, tensor: TensorValue): string {
    return this.pushInitializer(this.claim(name), tensor);
  }

  private pushInitializer(name: string, tensor: TensorValue): string {
    const init: Initializer = { name, ...tensor };
    this.graph.initializers.push(init);
    return name;
  }

  /** A constant tensor stored as an initializer; small constants with equal contents are shared. */
  constant(tensor: TensorValue, prefix = 'const'): string {
    const small = tensor.data.length <= 16;
    const key = small ? `${tensor.dataType}|${tensor.dims.join(',')}|${Array.from(tensor.data as ArrayLike<number | bigint>).join(',')}` : '';
    if (small) {
      const existing = this.constants.get(key);
      if (existing) return existing;
    }
    const name = this.pushInitializer(this.fresh(prefix), tensor);
    if (small) this.constants.set(key, name);
    return name;
  }

  int64(values: number[], dims: number[] = [values.length]): string {
    return this.constant({ dataType: 'int64', dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) }, 'i64');
  }

  float32(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant({ dataType: 'float32', dims, data: Float32Array.from(values) }, 'f32');
  }

  /** A float32 scalar (rank 0). */
  scalar(value: number): string {
    return this.float32([value], []);
  }

  /** Appends a node; returns its output names. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, options: OpOptions = {}): string[] {
    const outs = options.outputs ?? 1;
    const outputs = typeof outs === 'number'
      ? Array.from({ length: outs }, () => this.fresh(opType.toLowerCase()))
      : outs.map((o) => this.claim(o));
    const node: Node = { name: options.name ?? this.fresh(`n_${opType}`), opType, inputs, outputs, attributes };
    if (options.domain) node.domain = options.domain;
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Appends a single-output node; returns the output name. */
  op1(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, options: OpOptions = {}): string {
    return this.op(opType, inputs, attributes, options)[0];
  }

  conv(x: string, w: string, b: string | undefined, o: ConvOptions = {}): string {
    const a: Record<string, AttributeValue> = {};
    if (o.strides) a.strides = attr.ints(o.strides);
    if (o.pads) a.pads = attr.ints(o.pads);
    if (o.dilations) a.dilations = attr.ints(o.dilations);
    if (o.group && o.group !== 1) a.group = attr.int(o.group);
    return this.op1('Conv', b ? [x, w, b] : [x, w], a);
  }

  maxPool(x: string, o: PoolOptions): string {
    const a: Record<string, AttributeValue> = { kernel_shape: attr.ints(o.kernel) };
    if (o.strides) a.strides = attr.ints(o.strides);
    if (o.pads) a.pads = attr.ints(o.pads);
    if (o.ceilMode) a.ceil_mode = attr.int(1);
    return this.op1('MaxPool', [x], a);
  }

  relu(x: string): string { return this.op1('Relu', [x]); }
  sigmoid(x: string): string { return this.op1('Sigmoid', [x]); }
  add(a: string, b: string): string { return this.op1('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op1('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op1('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op1('Div', [a, b]); }
  pow(a: string, b: string): string { return this.op1('Pow', [a, b]); }
  sqrt(x: string): string { return this.op1('Sqrt', [x]); }
  neg(x: string): string { return this.op1('Neg', [x]); }
  exp(x: string): string { return this.op1('Exp', [x]); }
  log(x: string): string { return this.op1('Log', [x]); }
  abs(x: string): string { return this.op1('Abs', [x]); }
  identity(x: string): string { return this.op1('Identity', [x]); }
  matmul(a: string, b: string): string { return this.op1('MatMul', [a, b]); }

  concat(values: string[], axis: number): string {
    return this.op1('Concat', values, { axis: attr.int(axis) });
  }

  reshape(x: string, shape: number[]): string {
    return this.op1('Reshape', [x, this.int64(shape)]);
  }

  expand(x: string, shape: number[]): string {
    return this.op1('Expand', [x, this.int64(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.op1('Transpose', [x], { perm: attr.ints(perm) });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    const inputs = [x, this.int64(starts), this.int64(ends), this.int64(axes)];
    if (steps) inputs.push(this.int64(steps));
    return this.op1('Slice', inputs);
  }

  /** ReduceMean takes axes as an attribute at opset 17. */
  reduceMean(x: string, axes: number[], keepdims = true): string {
    return this.op1('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }

  /** ReduceSum takes axes as an input since opset 13. */
  reduceSum(x: string, axes: number[], keepdims = true): string {
    return this.op1('ReduceSum', [x, this.int64(axes)], { keepdims: attr.int(keepdims ? 1 : 0) });
  }

  batchNormInference(x: string, scale: string, bias: string, mean: string, variance: string, epsilon: number): string {
    return this.op1('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: attr.float(epsilon) });
  }

  build(metadata?: Record<string, string>): Model {
    return { graph: this.graph, opset: OPSET, producerName: 'lmk', producerVersion: '0.1.0', metadata };
  }
}
