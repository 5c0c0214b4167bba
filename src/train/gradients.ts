import { attr, AttributeValue, GraphBuilder, intAttr, intsAttr, Node, elementCount } from '../onnx';
import { StaticShape, sliceRanges } from '../onnx/shapes';

/** What a gradient rule may use: the builder that receives backward nodes and the forward graph's static shapes. */
export interface GradContext {
  readonly g: GraphBuilder;
  shape(value: string): StaticShape;
  /** Integer contents of a node's constant input (Reshape shape, Slice starts, ReduceSum axes, ...). */
  ints(node: Node, input: number): number[];
}

/**
 * A gradient rule: given the gradients flowing into a node's outputs (undefined where none flows)
 * and which inputs need a gradient, returns one gradient per input (undefined where none is needed
 * or the input is not differentiable). Returned gradients have exactly their input's shape.
 */
export type GradRule = (ctx: GradContext, node: Node, dOut: (string | undefined)[], needs: boolean[]) => (string | undefined)[];

/** Sums `grad` (shaped `from`) over broadcast axes so that it has shape `to`. */
export function unbroadcast(ctx: GradContext, grad: string, from: number[], to: number[]): string {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return grad;
  const lead = from.length - to.length;
  const axes: number[] = [];
  from.forEach((d, i) => {
    if (i < lead || (to[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? ctx.g.reduceSum(grad, axes, true) : grad;
  return lead !== 0 || axes.length === 0 ? ctx.g.reshape(summed, to) : summed;
}

const dims = (ctx: GradContext, v: string): number[] => ctx.shape(v).dims;

/** Gradient of the only output, or a clear error for multi-output nodes without a rule for that. */
const first = (dOut: (string | undefined)[]): string => {
  if (!dOut[0]) throw new Error('internal: gradient rule called without an output gradient');
  return dOut[0];
};

const elementwise = (f: (ctx: GradContext, node: Node, d: string) => string): GradRule => (ctx, node, dOut, needs) =>
  [needs[0] ? f(ctx, node, first(dOut)) : undefined];

/** Binary broadcasting ops: each partial is computed at the output shape, then unbroadcast to its input. */
const binary = (fa: ((ctx: GradContext, n: Node, d: string) => string) | null, fb: ((ctx: GradContext, n: Node, d: string) => string) | null): GradRule =>
  (ctx, node, dOut, needs) => {
    const d = first(dOut);
    const out = dims(ctx, node.outputs[0]);
    return [
      needs[0] && fa ? unbroadcast(ctx, fa(ctx, node, d), out, dims(ctx, node.inputs[0])) : undefined,
      needs[1] && fb ? unbroadcast(ctx, fb(ctx, node, d), out, dims(ctx, node.inputs[1])) : undefined,
    ];
  };

const reshapeBack: GradRule = (ctx, node, dOut, needs) => [needs[0] ? ctx.g.reshape(first(dOut), dims(ctx, node.inputs[0])) : undefined];

/** Gradient of ReduceSum/ReduceMean: the output gradient spread back over the reduced axes. */
const reduceRule = (mean: boolean): GradRule => (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const g = ctx.g;
  const x = dims(ctx, node.inputs[0]);
  const axesList = node.opType === 'ReduceSum' ? (node.inputs[1] ? ctx.ints(node, 1) : []) : intsAttr(node, 'axes', []);
  const axes = axesList.length ? axesList.map((a) => (a < 0 ? a + x.length : a)) : x.map((_, i) => i);
  const kept = x.map((d, i) => (axes.includes(i) ? 1 : d));
  let d = first(dOut);
  if (intAttr(node, 'keepdims', 1) === 0) d = g.reshape(d, kept);
  if (mean) d = g.mul(d, scalarLike(ctx, 1 / (elementCount(x) / elementCount(kept)), node.inputs[0]));
  return [g.expand(d, x)];
};

/**
 * [K, R] -> [R, K] for small K. ORT's Transpose does this one element at a time with stride R reads
 * (measured ~20x slower than a copy for R = 512*512, K = 9); moving blocks of ~1024 first and then
 * transposing each [K, block] in cache is an order of magnitude faster.
 */
function moveFirstAxisLast(g: GraphBuilder, x: string, k: number, r: number): string {
  let block = 0;
  for (let b = 1024; b >= 64; b--) if (r % b === 0) { block = b; break; }
  if (block === 0 || block === r) return g.transpose(x, [1, 0]);
  const blocks = g.transpose(g.reshape(x, [k, r / block, block]), [1, 0, 2]);
  return g.reshape(g.transpose(blocks, [0, 2, 1]), [r, k]);
}

/**
 * Conv (2-D, NCHW) with bias, pads, strides, dilations and groups. Formulations kept after measuring
 * on this CPU (numbers in src/train/README.md):
 * - input gradient, stride 1, where activations outweigh the weight: a forward Conv of dY with the
 *   flipped, transposed weight (about the forward conv's cost; ORT's ConvTranspose took up to twice
 *   that). Elsewhere (deep, small layers; strides): ConvTranspose (unpadded, then cropped, where the pads
 *   are asymmetric).
 * - weight gradient: one MatMul per kernel tap, batched over the images and summed, with only the narrower
 *   operand copied per tap: dY[N, Cout, Ho*Wo] x the input's tap (a strided Slice) in NHWC [N, Ho*Wo, Cin],
 *   or, where Cin > Cout at stride 1, the padded input [N, Cin, Hp*Wp] x dY moved to the tap (a Pad) in NHWC;
 *   the taps are stacked and moved innermost.
 */
const convRule: GradRule = (ctx, node, dOut, needs) => {
  const g = ctx.g;
  const d = first(dOut);
  if (dims(ctx, node.inputs[0]).length !== 4) throw new Error(`Conv ${node.name}: gradients are implemented for 2-D convolutions only`);
  const [n, cin, h, w] = dims(ctx, node.inputs[0]);
  const [cout, cinG, kh, kw] = dims(ctx, node.inputs[1]);
  const [, , ho, wo] = dims(ctx, node.outputs[0]);
  const auto = node.attributes.auto_pad;
  if (auto && auto.type === 'string' && auto.value !== 'NOTSET') throw new Error(`Conv ${node.name}: auto_pad is not differentiable here; give explicit pads`);
  const [sh, sw] = intsAttr(node, 'strides', [1, 1]);
  const [dh, dw] = intsAttr(node, 'dilations', [1, 1]);
  const [pt, pl, pb, pr] = intsAttr(node, 'pads', [0, 0, 0, 0]);
  const group = intAttr(node, 'group', 1);
  const coutG = cout / group;
  const weight = node.inputs[1];

  let dx: string | undefined;
  if (needs[0]) {
    // Rows/columns that no window reached (floor in the output size) get zero gradient.
    const covH = sh * (ho - 1) + dh * (kh - 1) + 1 - pt - pb;
    const covW = sw * (wo - 1) + dw * (kw - 1) + 1 - pl - pr;
    const groupAttr: Record<string, AttributeValue> = group !== 1 ? { group: attr.int(group) } : {};
    // The flipped weight costs weight-sized reorders: worth it where activations outweigh the weight.
    if (sh === 1 && sw === 1 && cout * cinG * kh * kw < n * (cin + cout) * h * w) {
      // W'[g, ci, co, a, b] = W[g, co, ci, kh-1-a, kw-1-b]: a correlation with W' is the transposed conv.
      const perGroup = g.reshape(weight, [group, coutG, cinG, kh, kw]);
      const flipped = g.slice(g.transpose(perGroup, [0, 2, 1, 3, 4]), [-1, -1], [-kh - 1, -kw - 1], [3, 4], [-1, -1]);
      const wT = g.reshape(flipped, [group * cinG, coutG, kh, kw]);
      const pads = [dh * (kh - 1) - pt, dw * (kw - 1) - pl, dh * (kh - 1) - pb + (h - covH), dw * (kw - 1) - pr + (w - covW)];
      // Negative pads (padding wider than the kernel) crop dY first.
      const crop = pads.map((p) => Math.max(0, -p));
      const dyIn = crop.some((c) => c > 0) ? g.slice(d, [crop[0], crop[1]], [ho - crop[2], wo - crop[3]], [2, 3]) : d;
      dx = g.op1('Conv', [dyIn, wT], { pads: attr.ints(pads.map((p) => Math.max(0, p))), dilations: attr.ints([dh, dw]), ...groupAttr });
    } else if (pt === pb && pl === pr) {
      const a: Record<string, AttributeValue> = {
        strides: attr.ints([sh, sw]), pads: attr.ints([pt, pl, pb, pr]), dilations: attr.ints([dh, dw]), ...groupAttr,
      };
      if (h !== covH || w !== covW) a.output_padding = attr.ints([h - covH, w - covW]);
      dx = g.op1('ConvTranspose', [d, weight], a);
    } else {
      // Asymmetric pads (EfficientNet's static SAME padding): ONNX Runtime's CUDA provider has no such
      // ConvTranspose and would run it on the CPU. The unpadded ConvTranspose covers the padded input
      // (covH + pt + pb rows); dX is its rows pt.. and columns pl.., zero where no window reached.
      const full = g.op1('ConvTranspose', [d, weight], { strides: attr.ints([sh, sw]), dilations: attr.ints([dh, dw]), ...groupAttr });
      const [fullH, fullW] = [covH + pt + pb, covW + pl + pr];
      const kept = g.slice(full, [pt, pl], [Math.min(pt + h, fullH), Math.min(pl + w, fullW)], [2, 3]);
      const [padH, padW] = [Math.max(0, pt + h - fullH), Math.max(0, pl + w - fullW)];
      dx = padH || padW ? g.op1('Pad', [kept, g.int64([0, 0, 0, 0, 0, 0, padH, padW])]) : kept;
    }
  }

  let dWeight: string | undefined;
  if (needs[1]) {
    const sumImages = (perImage: string): string => (n === 1 ? perImage : g.reduceSum(perImage, [0], false));
    // Per tap, a [1, R] row of R = Cout * Cin/G products; `wide` rows are [Cin, Cout] and transposed at the end.
    // Only the narrower operand is copied per tap, and it is MatMul's right operand, the one MLAS packs.
    const wide = group === 1 && cin > cout && sh === 1 && sw === 1;
    let tapRow: (a: number, b: number) => string;
    if (wide) {
      // Wide input, narrow output (decoders' concatenated inputs), stride 1: the padded input whole as
      // [N, Cin, Hp*Wp], against dY in NHWC moved to where tap (a, b) reads (a Pad):
      // dW[co, ci, a, b] = sum over (i, j) of Xpadded[ci, i, j] dY[co, i - a dh, j - b dw]. 1.1-3.9x faster per
      // layer here than slicing the wide input (src/train/README.md).
      const [hp, wp] = [h + pt + pb, w + pl + pr];
      const padded = pt || pl || pb || pr ? g.op1('Pad', [node.inputs[0], g.int64([0, 0, pt, pl, 0, 0, pb, pr])]) : node.inputs[0];
      const xRows = g.reshape(padded, [n, cin, hp * wp]);
      const dyNhwc = g.transpose(d, [0, 2, 3, 1]);
      tapRow = (a, b) => {
        const shift = [0, a * dh, b * dw, 0, 0, hp - ho - a * dh, wp - wo - b * dw, 0];
        const moved = shift.some((p) => p !== 0) ? g.op1('Pad', [dyNhwc, g.int64(shift)]) : dyNhwc;
        return g.reshape(sumImages(g.matmul(xRows, g.reshape(moved, [n, hp * wp, cout]))), [1, cin * cout]);
      };
    } else {
      const nhwc = g.transpose(node.inputs[0], [0, 2, 3, 1]);
      const padded = pt || pl || pb || pr ? g.op1('Pad', [nhwc, g.int64([0, pt, pl, 0, 0, pb, pr, 0])]) : nhwc;
      const whole = kh === 1 && kw === 1 && sh === 1 && sw === 1 && !(pt || pl || pb || pr);
      /** The input under kernel tap (a, b) for every output position: a strided Slice of the padded NHWC input. */
      const tap = (a: number, b: number): string => (whole ? padded
        : g.slice(padded, [a * dh, b * dw], [a * dh + (ho - 1) * sh + 1, b * dw + (wo - 1) * sw + 1], [1, 2], [sh, sw]));
      if (group === 1) {
        // dY as it is, [N, Cout, Ho*Wo], against the input's taps as NHWC rows, batched over the images and
        // summed after (1.1-1.5x faster per layer here than transposing dY to [Cout, N*Ho*Wo] for one product).
        const dyRows = g.reshape(d, [n, cout, ho * wo]);
        tapRow = (a, b) => g.reshape(sumImages(g.matmul(dyRows, g.reshape(tap(a, b), [n, ho * wo, cin]))), [1, cout * cin]);
      } else {
        // dY as [G, Cout/G, N*Ho*Wo] against the taps as [G, N*Ho*Wo, Cin/G].
        const m = n * ho * wo;
        const dyRows = g.reshape(n === 1 ? d : g.transpose(d, [1, 0, 2, 3]), [group, coutG, m]);
        tapRow = (a, b) => g.reshape(g.matmul(dyRows, g.transpose(g.reshape(tap(a, b), [m, group, cinG]), [1, 0, 2])), [1, cout * cinG]);
      }
    }
    const taps: string[] = [];
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) taps.push(tapRow(a, b));
    const stacked = taps.length === 1 ? taps[0] : moveFirstAxisLast(g, g.concat(taps, 0), taps.length, cout * cinG); // [R, K]
    dWeight = wide ? g.transpose(g.reshape(stacked, [cin, cout, kh, kw]), [1, 0, 2, 3]) : g.reshape(stacked, [cout, cinG, kh, kw]);
  }

  const db = node.inputs[2] && needs[2] ? g.reduceSum(d, [0, 2, 3], false) : undefined;
  return [dx, dWeight, db];
};

/** MaxPool: the output gradient is scattered (added) to the argmax positions that ORT reports as Indices. */
const maxPoolRule: GradRule = (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const g = ctx.g;
  if (intAttr(node, 'storage_order', 0) !== 0) throw new Error(`MaxPool ${node.name}: only row-major storage_order is differentiable`);
  // Ask the forward node for its argmax indices (flat over the whole input tensor).
  if (!node.outputs[1]) node.outputs[1] = g.fresh('maxpool_indices');
  const x = dims(ctx, node.inputs[0]);
  const zeros = g.op1('ConstantOfShape', [g.int64([elementCount(x)])], { value: attr.tensor({ dataType: 'float32', dims: [1], data: new Float32Array(1) }) });
  const scattered = g.op1('ScatterElements', [zeros, g.reshape(node.outputs[1], [-1]), g.reshape(first(dOut), [-1])], {
    axis: attr.int(0), reduction: attr.string('add'),
  });
  return [g.reshape(scattered, x)];
};

const concatRule: GradRule = (ctx, node, dOut, needs) => {
  const out = dims(ctx, node.outputs[0]);
  const axis = ((intAttr(node, 'axis', 0) % out.length) + out.length) % out.length;
  const sizes = node.inputs.map((i) => dims(ctx, i)[axis]);
  const parts = ctx.g.op('Split', [first(dOut), ctx.g.int64(sizes)], { axis: attr.int(axis) }, { outputs: sizes.length });
  return parts.map((p, i) => (needs[i] ? p : undefined));
};

const sliceRule: GradRule = (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const x = dims(ctx, node.inputs[0]);
  const ranges = sliceRanges(x, ctx.ints(node, 1), ctx.ints(node, 2), node.inputs[3] ? ctx.ints(node, 3) : undefined, node.inputs[4] ? ctx.ints(node, 4) : undefined);
  const pads = new Array(2 * x.length).fill(0);
  for (const r of ranges) {
    if (r.step !== 1) throw new Error(`Slice ${node.name}: gradients are implemented for step 1 only`);
    pads[r.axis] = r.start;
    pads[r.axis + x.length] = x[r.axis] - r.start - r.count;
  }
  return [ctx.g.op1('Pad', [first(dOut), ctx.g.int64(pads)])];
};

const padRule: GradRule = (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const mode = node.attributes.mode;
  if (mode && mode.type === 'string' && mode.value !== 'constant') throw new Error(`Pad ${node.name}: only constant padding is differentiable`);
  const x = dims(ctx, node.inputs[0]);
  const pads = ctx.ints(node, 1);
  if (pads.some((p) => p < 0)) throw new Error(`Pad ${node.name}: negative pads are not differentiable`);
  const axes = x.map((_, i) => i);
  return [ctx.g.slice(first(dOut), axes.map((i) => pads[i]), axes.map((i) => pads[i] + x[i]), axes)];
};

const transposeRule: GradRule = (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const rank = dims(ctx, node.inputs[0]).length;
  const perm = intsAttr(node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => { inverse[p] = i; });
  return [ctx.g.transpose(first(dOut), inverse)];
};

/** Swaps the last two axes. */
const swapLast = (g: GraphBuilder, v: string, rank: number): string =>
  g.transpose(v, [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2]);

const matMulRule: GradRule = (ctx, node, dOut, needs) => {
  const g = ctx.g;
  const d = first(dOut);
  const [a, b] = node.inputs;
  const out = dims(ctx, node.outputs[0]);
  return [
    needs[0] ? unbroadcast(ctx, g.matmul(d, swapLast(g, b, dims(ctx, b).length)), out, dims(ctx, a)) : undefined,
    needs[1] ? unbroadcast(ctx, g.matmul(swapLast(g, a, dims(ctx, a).length), d), out, dims(ctx, b)) : undefined,
  ];
};

/**
 * Resize, nearest, integer scales, 'asymmetric' coordinates with 'floor' rounding (what F.interpolate's
 * nearest upsampling is): every input element is copied to a scale-sized block, so its gradient is the
 * block's sum. Other modes are not differentiable here.
 */
const resizeRule: GradRule = (ctx, node, dOut, needs) => {
  if (!needs[0]) return [undefined];
  const str = (name: string, fallback: string): string => {
    const a = node.attributes[name];
    return a && a.type === 'string' ? a.value : fallback;
  };
  const x = dims(ctx, node.inputs[0]);
  const out = dims(ctx, node.outputs[0]);
  const scales = out.map((d, i) => d / x[i]);
  if (str('mode', 'nearest') !== 'nearest' || str('coordinate_transformation_mode', 'half_pixel') !== 'asymmetric'
    || str('nearest_mode', 'round_prefer_floor') !== 'floor' || !scales.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`Resize ${node.name}: gradients are implemented for nearest upsampling by integer factors (asymmetric, floor) only`);
  }
  const blocks = x.flatMap((d, i) => [d, scales[i]]);
  const blockAxes = x.map((_, i) => 2 * i + 1);
  return [ctx.g.reshape(ctx.g.reduceSum(ctx.g.reshape(first(dOut), blocks), blockAxes, false), x)];
};

/** ONNX element type codes of the float types a Cast gradient flows back to. */
const FLOAT_CODES: Record<string, number> = { float32: 1, float16: 10, float64: 11 };

/** A scalar constant of `like`'s element type (float32 or float64), so that rules work in both. */
/** The (non-negative) axis of a Softmax/LogSoftmax node (opset 13: one axis, default -1). */
const softmaxAxis = (ctx: GradContext, node: Node): number => {
  const axis = intAttr(node, 'axis', -1);
  return axis < 0 ? axis + dims(ctx, node.inputs[0]).length : axis;
};

const scalarLike = (ctx: GradContext, value: number, like: string): string => (ctx.shape(like).dataType === 'float64'
  ? ctx.g.constant({ dataType: 'float64', dims: [], data: Float64Array.of(value) }, 'f64')
  : ctx.g.scalar(value));

/**
 * The gradient rules, by ONNX op type. Ops without an entry are not differentiable here; autodiff
 * reports them by name when they lie between a parameter and the loss.
 */
export const GRADIENT_RULES: Record<string, GradRule> = {
  Identity: elementwise((_c, _n, d) => d),
  Neg: elementwise((c, _n, d) => c.g.neg(d)),
  Relu: elementwise((c, n, d) => c.g.op1('Where', [c.g.op1('Greater', [n.outputs[0], scalarLike(c, 0, n.outputs[0])]), d, scalarLike(c, 0, n.outputs[0])])),
  Sigmoid: elementwise((c, n, d) => c.g.mul(d, c.g.mul(n.outputs[0], c.g.sub(scalarLike(c, 1, n.outputs[0]), n.outputs[0])))),
  Tanh: elementwise((c, n, d) => c.g.mul(d, c.g.sub(scalarLike(c, 1, n.outputs[0]), c.g.mul(n.outputs[0], n.outputs[0])))),
  Exp: elementwise((c, n, d) => c.g.mul(d, n.outputs[0])),
  Log: elementwise((c, n, d) => c.g.div(d, n.inputs[0])),
  Abs: elementwise((c, n, d) => c.g.mul(d, c.g.op1('Sign', [n.inputs[0]]))),
  Sqrt: elementwise((c, n, d) => c.g.div(c.g.mul(d, scalarLike(c, 0.5, n.outputs[0])), n.outputs[0])),
  Softplus: elementwise((c, n, d) => c.g.mul(d, c.g.sigmoid(n.inputs[0]))),
  // y = x - log sum exp x along the axis: dx = dy - softmax(x) sum(dy).
  LogSoftmax: elementwise((c, n, d) => c.g.sub(d, c.g.mul(c.g.exp(n.outputs[0]), c.g.reduceSum(d, [softmaxAxis(c, n)], true)))),
  // dx = y (dy - sum(dy y)) along the axis.
  Softmax: elementwise((c, n, d) => c.g.mul(n.outputs[0], c.g.sub(d, c.g.reduceSum(c.g.mul(d, n.outputs[0]), [softmaxAxis(c, n)], true)))),
  Cast: (ctx, node, dOut, needs) => {
    const from = ctx.shape(node.inputs[0]).dataType;
    if (!needs[0] || !FLOAT_CODES[from]) return [undefined];
    return [ctx.g.op1('Cast', [first(dOut)], { to: attr.int(FLOAT_CODES[from]) })];
  },

  Add: binary((_c, _n, d) => d, (_c, _n, d) => d),
  Sub: binary((_c, _n, d) => d, (c, _n, d) => c.g.neg(d)),
  Mul: binary((c, n, d) => c.g.mul(d, n.inputs[1]), (c, n, d) => c.g.mul(d, n.inputs[0])),
  Div: binary((c, n, d) => c.g.div(d, n.inputs[1]), (c, n, d) => c.g.neg(c.g.div(c.g.mul(d, n.outputs[0]), n.inputs[1]))),
  Pow: binary(
    (c, n, d) => c.g.mul(d, c.g.mul(n.inputs[1], c.g.pow(n.inputs[0], c.g.sub(n.inputs[1], scalarLike(c, 1, n.inputs[1]))))),
    (c, n, d) => c.g.mul(d, c.g.mul(n.outputs[0], c.g.log(n.inputs[0]))),
  ),
  Sum: (ctx, node, dOut, needs) => {
    const out = dims(ctx, node.outputs[0]);
    return node.inputs.map((i, k) => (needs[k] ? unbroadcast(ctx, first(dOut), out, dims(ctx, i)) : undefined));
  },
  Where: (ctx, node, dOut, needs) => {
    const g = ctx.g;
    const d = first(dOut);
    const out = dims(ctx, node.outputs[0]);
    const cond = node.inputs[0];
    return [
      undefined,
      needs[1] ? unbroadcast(ctx, g.op1('Where', [cond, d, scalarLike(ctx, 0, node.outputs[0])]), out, dims(ctx, node.inputs[1])) : undefined,
      needs[2] ? unbroadcast(ctx, g.op1('Where', [cond, scalarLike(ctx, 0, node.outputs[0]), d]), out, dims(ctx, node.inputs[2])) : undefined,
    ];
  },

  Conv: convRule,
  MaxPool: maxPoolRule,
  GlobalAveragePool: (ctx, node, dOut, needs) => {
    if (!needs[0]) return [undefined];
    const x = dims(ctx, node.inputs[0]);
    return [ctx.g.expand(ctx.g.mul(first(dOut), scalarLike(ctx, 1 / elementCount(x.slice(2)), node.inputs[0])), x)];
  },

  Concat: concatRule,
  Slice: sliceRule,
  Pad: padRule,
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Unsqueeze: reshapeBack,
  Squeeze: reshapeBack,
  Transpose: transposeRule,
  Resize: resizeRule,
  Expand: (ctx, node, dOut, needs) => [needs[0] ? unbroadcast(ctx, first(dOut), dims(ctx, node.outputs[0]), dims(ctx, node.inputs[0])) : undefined],
  ReduceSum: reduceRule(false),
  ReduceMean: reduceRule(true),
  MatMul: matMulRule,
};
