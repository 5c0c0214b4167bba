import { DataType, Graph, Initializer, Node, intAttr, intsAttr, elementCount } from './graph';

/** A value's element type and fully static shape. */
export interface StaticShape {
  dataType: DataType;
  dims: number[];
}

/**
 * Static shape inference for the ops lmk's graphs use. Training graphs have fixed batch and grid
 * sizes, so every value gets concrete dims; autodiff needs them to reduce broadcast gradients
 * back to their input shapes. Throws, naming the node, on an op it does not know or on a
 * symbolic graph input.
 */
export function inferShapes(graph: Graph, known?: Map<string, StaticShape>): Map<string, StaticShape> {
  const shapes = new Map<string, StaticShape>(known ?? []);
  const inits = new Map(graph.initializers.map((i) => [i.name, i]));
  for (const i of graph.initializers) shapes.set(i.name, { dataType: i.dataType, dims: i.dims.slice() });
  for (const v of graph.inputs) {
    if (shapes.has(v.name)) continue;
    if (!v.shape || v.shape.some((d) => typeof d !== 'number')) {
      throw new Error(`graph input '${v.name}' needs a static shape for shape inference (got ${JSON.stringify(v.shape)})`);
    }
    shapes.set(v.name, { dataType: v.dataType, dims: v.shape as number[] });
  }
  for (const node of graph.nodes) inferNode(node, shapes, inits);
  return shapes;
}

/** Infers the output shapes of one node from `shapes` (which it extends); `inits` supplies constant inputs. */
export function inferNode(node: Node, shapes: Map<string, StaticShape>, inits: Map<string, Initializer>): void {
  const input = (i: number): StaticShape => {
    const s = shapes.get(node.inputs[i]);
    if (!s) throw new Error(`${node.opType} ${node.name}: no shape known for input '${node.inputs[i]}'`);
    return s;
  };
  const outs = SHAPE_RULES[node.opType];
  if (!outs) throw new Error(`${node.opType} ${node.name}: no static shape rule for this op`);
  const results = outs(node, input, (i) => constantInts(node, i, inits));
  results.forEach((r, i) => {
    if (node.outputs[i]) shapes.set(node.outputs[i], r);
  });
}

/** The integer contents of constant input `i` of `node` (an int64/int32 initializer). */
export function constantInts(node: Node, i: number, inits: Map<string, Initializer>): number[] {
  const init = inits.get(node.inputs[i]);
  if (!init) throw new Error(`${node.opType} ${node.name}: input ${i} ('${node.inputs[i]}') must be a constant initializer`);
  return Array.from(init.data as ArrayLike<number | bigint>, (v) => Number(v));
}

type ShapeRule = (node: Node, input: (i: number) => StaticShape, ints: (i: number) => number[]) => StaticShape[];

/** Numpy-style broadcast of several shapes. */
export function broadcastDims(node: Node, ...all: number[][]): number[] {
  const rank = Math.max(...all.map((d) => d.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let size = 1;
    for (const d of all) {
      const v = d[d.length - rank + k] ?? 1;
      if (v === 1) continue;
      if (size !== 1 && size !== v) throw new Error(`${node.opType} ${node.name}: shapes ${all.map((s) => `[${s}]`).join(', ')} do not broadcast`);
      size = v;
    }
    out.push(size);
  }
  return out;
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

const unary: ShapeRule = (_n, input) => [input(0)];

const broadcast = (dataType?: DataType): ShapeRule => (node, input) => {
  const ins = node.inputs.map((_, i) => input(i));
  const first = node.opType === 'Where' ? ins[1] : ins[0];
  return [{ dataType: dataType ?? first.dataType, dims: broadcastDims(node, ...ins.map((s) => s.dims)) }];
};

/** Output size of a sliding window along one axis (Conv, pooling). */
function windowOut(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceil: boolean): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

function checkNoAutoPad(node: Node): void {
  const a = node.attributes.auto_pad;
  if (a && a.type === 'string' && a.value !== 'NOTSET') throw new Error(`${node.opType} ${node.name}: auto_pad ${a.value} is not supported; give explicit pads`);
}

/** Conv and ConvTranspose attributes with ONNX's defaults, for `spatial` spatial axes. */
function convAttributes(node: Node, spatial: number) {
  checkNoAutoPad(node);
  return {
    spatial,
    strides: intsAttr(node, 'strides', Array(spatial).fill(1)),
    dil: intsAttr(node, 'dilations', Array(spatial).fill(1)),
    pads: intsAttr(node, 'pads', Array(2 * spatial).fill(0)),
    group: intAttr(node, 'group', 1),
  };
}

const reduceRule = (axesFromInput: boolean): ShapeRule => (node, input, ints) => {
  const x = input(0);
  const keep = intAttr(node, 'keepdims', 1) === 1;
  let axes = axesFromInput ? (node.inputs[1] ? ints(1) : []) : intsAttr(node, 'axes', []);
  axes = axes.length === 0 ? x.dims.map((_, i) => i) : axes.map((a) => normAxis(a, x.dims.length));
  const dims: number[] = [];
  x.dims.forEach((d, i) => {
    if (!axes.includes(i)) dims.push(d);
    else if (keep) dims.push(1);
  });
  return [{ dataType: x.dataType, dims }];
};

const SHAPE_RULES: Record<string, ShapeRule> = {
  Identity: unary, Relu: unary, Sigmoid: unary, Tanh: unary, Neg: unary, Exp: unary, Log: unary, Abs: unary,
  Sqrt: unary, Reciprocal: unary, Softplus: unary, LeakyRelu: unary, Sign: unary, Floor: unary,
  RandomUniformLike: unary, Softmax: unary, LogSoftmax: unary,
  Add: broadcast(), Sub: broadcast(), Mul: broadcast(), Div: broadcast(), Pow: broadcast(), Max: broadcast(),
  Min: broadcast(), Sum: broadcast(), Where: broadcast(),
  Greater: broadcast('bool'), Less: broadcast('bool'), Equal: broadcast('bool'), GreaterOrEqual: broadcast('bool'),
  LessOrEqual: broadcast('bool'), Not: unary, And: broadcast('bool'), Or: broadcast('bool'),

  Cast: (node, input) => {
    const to = intAttr(node, 'to', 1);
    const byCode: Record<number, DataType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
    const dataType = byCode[to];
    if (!dataType) throw new Error(`Cast ${node.name}: unsupported target type ${to}`);
    return [{ dataType, dims: input(0).dims }];
  },

  Conv: (node, input) => {
    const x = input(0);
    const w = input(1);
    const { spatial, strides, dil, pads, group } = convAttributes(node, x.dims.length - 2);
    if (x.dims[1] !== w.dims[1] * group) throw new Error(`Conv ${node.name}: input has ${x.dims[1]} channels, weight expects ${w.dims[1]} x group ${group}`);
    const dims = [x.dims[0], w.dims[0]];
    for (let k = 0; k < spatial; k++) dims.push(windowOut(x.dims[2 + k], w.dims[2 + k], strides[k], pads[k], pads[k + spatial], dil[k], false));
    return [{ dataType: x.dataType, dims }];
  },

  ConvTranspose: (node, input) => {
    const x = input(0);
    const w = input(1);
    const { spatial, strides, dil, pads, group } = convAttributes(node, x.dims.length - 2);
    const outPad = intsAttr(node, 'output_padding', Array(spatial).fill(0));
    const dims = [x.dims[0], w.dims[1] * group];
    for (let k = 0; k < spatial; k++) {
      dims.push(strides[k] * (x.dims[2 + k] - 1) + outPad[k] + (w.dims[2 + k] - 1) * dil[k] + 1 - pads[k] - pads[k + spatial]);
    }
    return [{ dataType: x.dataType, dims }];
  },

  MaxPool: (node, input) => {
    checkNoAutoPad(node);
    const x = input(0);
    const kernel = intsAttr(node, 'kernel_shape', []);
    const spatial = kernel.length;
    const strides = intsAttr(node, 'strides', Array(spatial).fill(1));
    const dil = intsAttr(node, 'dilations', Array(spatial).fill(1));
    const pads = intsAttr(node, 'pads', Array(2 * spatial).fill(0));
    const ceil = intAttr(node, 'ceil_mode', 0) === 1;
    const dims = x.dims.slice(0, 2);
    for (let k = 0; k < spatial; k++) dims.push(windowOut(x.dims[2 + k], kernel[k], strides[k], pads[k], pads[k + spatial], dil[k], ceil));
    return [{ dataType: x.dataType, dims }, { dataType: 'int64', dims }];
  },

  GlobalAveragePool: (_n, input) => {
    const x = input(0);
    return [{ dataType: x.dataType, dims: [...x.dims.slice(0, 2), ...x.dims.slice(2).map(() => 1)] }];
  },

  BatchNormalization: (_n, input) => [input(0)],

  Concat: (node, input) => {
    const ins = node.inputs.map((_, i) => input(i));
    const axis = normAxis(intAttr(node, 'axis', 0), ins[0].dims.length);
    const dims = ins[0].dims.slice();
    dims[axis] = ins.reduce((s, x) => s + x.dims[axis], 0);
    for (const x of ins) {
      if (x.dims.length !== dims.length || x.dims.some((d, i) => i !== axis && d !== dims[i])) {
        throw new Error(`Concat ${node.name}: input shapes ${ins.map((s) => `[${s.dims}]`).join(', ')} differ outside axis ${axis}`);
      }
    }
    return [{ dataType: ins[0].dataType, dims }];
  },

  Split: (node, input, ints) => {
    const x = input(0);
    const axis = normAxis(intAttr(node, 'axis', 0), x.dims.length);
    const sizes = node.inputs[1] ? ints(1) : Array(node.outputs.length).fill(x.dims[axis] / node.outputs.length);
    return sizes.map((s) => {
      const dims = x.dims.slice();
      dims[axis] = s;
      return { dataType: x.dataType, dims };
    });
  },

  Slice: (node, input, ints) => {
    const x = input(0);
    const r = sliceRanges(x.dims, ints(1), ints(2), node.inputs[3] ? ints(3) : undefined, node.inputs[4] ? ints(4) : undefined);
    const dims = x.dims.slice();
    for (const a of r) dims[a.axis] = a.count;
    return [{ dataType: x.dataType, dims }];
  },

  Pad: (node, input, ints) => {
    const x = input(0);
    const pads = ints(1);
    const rank = x.dims.length;
    return [{ dataType: x.dataType, dims: x.dims.map((d, i) => d + pads[i] + pads[i + rank]) }];
  },

  Reshape: (node, input, ints) => {
    const x = input(0);
    const target = ints(1);
    const total = elementCount(x.dims);
    const dims = target.map((d, i) => (d === 0 ? x.dims[i] : d));
    const unknown = dims.indexOf(-1);
    if (unknown >= 0) dims[unknown] = total / elementCount(dims.filter((_, i) => i !== unknown));
    if (elementCount(dims) !== total) throw new Error(`Reshape ${node.name}: cannot reshape [${x.dims}] to [${target}]`);
    return [{ dataType: x.dataType, dims }];
  },

  Flatten: (node, input) => {
    const x = input(0);
    const axis = normAxis(intAttr(node, 'axis', 1), x.dims.length);
    return [{ dataType: x.dataType, dims: [elementCount(x.dims.slice(0, axis)), elementCount(x.dims.slice(axis))] }];
  },

  Expand: (node, input, ints) => {
    const x = input(0);
    return [{ dataType: x.dataType, dims: broadcastDims(node, x.dims, ints(1)) }];
  },

  Unsqueeze: (node, input, ints) => {
    const x = input(0);
    const rank = x.dims.length + ints(1).length;
    const axes = ints(1).map((a) => normAxis(a, rank));
    const dims: number[] = [];
    let src = 0;
    for (let i = 0; i < rank; i++) dims.push(axes.includes(i) ? 1 : x.dims[src++]);
    return [{ dataType: x.dataType, dims }];
  },

  Squeeze: (node, input, ints) => {
    const x = input(0);
    const axes = node.inputs[1] ? ints(1).map((a) => normAxis(a, x.dims.length)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
    return [{ dataType: x.dataType, dims: x.dims.filter((_, i) => !axes.includes(i)) }];
  },

  Transpose: (node, input) => {
    const x = input(0);
    const perm = intsAttr(node, 'perm', x.dims.map((_, i) => x.dims.length - 1 - i));
    return [{ dataType: x.dataType, dims: perm.map((p) => x.dims[p]) }];
  },

  ReduceMean: reduceRule(false),
  ReduceMax: reduceRule(false),
  ReduceSum: reduceRule(true),

  MatMul: (node, input) => {
    const a = input(0).dims;
    const b = input(1).dims;
    if (a.length < 2 || b.length < 2) throw new Error(`MatMul ${node.name}: rank-1 operands are not supported`);
    if (a[a.length - 1] !== b[b.length - 2]) throw new Error(`MatMul ${node.name}: [${a}] x [${b}] do not match`);
    const batch = broadcastDims(node, a.slice(0, -2), b.slice(0, -2));
    return [{ dataType: input(0).dataType, dims: [...batch, a[a.length - 2], b[b.length - 1]] }];
  },

  Gemm: (node, input) => {
    const a = input(0).dims;
    const b = input(1).dims;
    const m = intAttr(node, 'transA', 0) ? a[1] : a[0];
    const n = intAttr(node, 'transB', 0) ? b[0] : b[1];
    return [{ dataType: input(0).dataType, dims: [m, n] }];
  },

  ConstantOfShape: (node, _input, ints) => {
    const v = node.attributes.value;
    return [{ dataType: v && v.type === 'tensor' ? v.value.dataType : 'float32', dims: ints(0) }];
  },

  Resize: (node, input, ints) => {
    const x = input(0);
    // Inputs: X, roi, scales, sizes (opset 13+); exactly one of scales and sizes is given.
    if (node.inputs[3]) return [{ dataType: x.dataType, dims: ints(3) }];
    if (!node.inputs[2]) throw new Error(`Resize ${node.name}: needs constant scales or sizes`);
    const scales = ints(2); // float scales: the constant reader returns any numeric constant's values
    return [{ dataType: x.dataType, dims: x.dims.map((d, i) => Math.floor(d * scales[i])) }];
  },

  ScatterElements: (_n, input) => [input(0)],
  GatherElements: (_n, input) => [input(1)],
  Clip: unary,
  Dropout: (_n, input) => [input(0), { dataType: 'bool', dims: input(0).dims }],
};

export interface SliceRange {
  axis: number;
  /** First index taken (after clamping). */
  start: number;
  step: number;
  /** Number of elements taken along the axis. */
  count: number;
}

/** ONNX Slice semantics: normalises negative and out-of-range starts/ends, per axis. */
export function sliceRanges(dims: number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): SliceRange[] {
  const ax = axes ?? starts.map((_, i) => i);
  return ax.map((a0, i) => {
    const axis = normAxis(a0, dims.length);
    const size = dims[axis];
    const step = steps ? steps[i] : 1;
    if (step === 0) throw new Error('Slice step 0 is not allowed');
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    let start = starts[i] < 0 ? starts[i] + size : starts[i];
    let end = ends[i] < 0 ? ends[i] + size : ends[i];
    if (step > 0) {
      start = clamp(start, 0, size);
      end = clamp(end, 0, size);
    } else {
      start = clamp(start, -1, size - 1);
      end = clamp(end, -1, size - 1);
    }
    const count = Math.max(0, Math.ceil((end - start) / step));
    return { axis, start, step, count };
  });
}
