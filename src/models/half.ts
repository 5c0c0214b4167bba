import { attr, Model, Node } from '../onnx';
import type { StateDict } from './state-dict';

/**
 * float16 storage of model weights: shipped models keep their convolution weights in half precision
 * (half the file) and the graph casts them back to float32, which ONNX Runtime folds at session
 * creation, so inference runs in float32 as before.
 */

let halfTable: Float32Array | undefined;

/** float16 bit patterns to float32, built once (256 KiB). */
export function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) halfTable[h] = sign * fraction * 2 ** -24;
    else if (exponent === 31) halfTable[h] = fraction ? NaN : sign * Infinity;
    else halfTable[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return halfTable;
}

export function halvesToFloat32(halves: Uint16Array): Float32Array {
  const table = float16Table();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

/** float32 to the nearest float16 (ties to even), as numpy's astype(float16); out of range -> infinity. */
export function float32ToHalves(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    const mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      // Subnormal half (or zero): shift the full significand, rounding to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const significand = mantissa | 0x800000;
      const shift = 14 - e;
      let half = significand >>> shift;
      const rest = significand & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && (half & 1))) half++;
      out[i] = sign | half;
    } else {
      let half = (e << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      // Rounding may carry into the exponent, up to infinity: that is the right answer.
      if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
      out[i] = sign | half;
    }
  }
  return out;
}

/** The suffix of the float32 value that a Cast makes of a half-precision weight. */
const FLOAT_SUFFIX = '/float32';

/**
 * Stores the weights of every float32 initializer of two or more dimensions (convolution kernels: nearly
 * all of the bytes) as float16, each followed by a Cast back to float32; biases and BatchNorm statistics
 * stay float32, and so do the weights `keepFloat32` names. Initializer names are kept, so the weights still
 * read as an smp state dict.
 */
export function storeWeightsAsHalf(model: Model, keepFloat32: (name: string) => boolean = () => false): Model {
  const renamed = new Map<string, string>();
  const initializers = model.graph.initializers.map((t) => {
    if (t.dataType !== 'float32' || t.dims.length < 2 || keepFloat32(t.name)) return t;
    renamed.set(t.name, `${t.name}${FLOAT_SUFFIX}`);
    return { ...t, dataType: 'float16' as const, data: float32ToHalves(t.data as Float32Array) };
  });
  const casts: Node[] = [...renamed].map(([from, to]) => ({
    name: `cast_${from}`, opType: 'Cast', inputs: [from], outputs: [to], attributes: { to: attr.int(1) },
  }));
  const nodes = model.graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i) }));
  return { ...model, graph: { ...model.graph, initializers, nodes: [...casts, ...nodes] } };
}

/** The model's weights as a float32 state dict (smp names), half-precision ones widened. */
export function stateDictOfModel(model: Model): StateDict {
  const dict: StateDict = new Map();
  for (const t of model.graph.initializers) {
    if (t.dataType === 'float32') dict.set(t.name, { dims: [...t.dims], data: t.data as Float32Array });
    else if (t.dataType === 'float16') dict.set(t.name, { dims: [...t.dims], data: halvesToFloat32(t.data as Uint16Array) });
  }
  return dict;
}
