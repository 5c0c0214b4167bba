import { getEncoder } from './encoders';
import { initTensor, listTensors, TensorInfo, validateSeed } from './parameters';
import { parseModel } from '../onnx';
import { stateDictOfModel } from './half';
import { isSafetensors, parseSafetensors, readSafetensors, readWeightsBytes, SafetensorsContents } from './safetensors';
import { ModelSpec, ResolvedSpec, resolveSpec, specFromMetadata } from './spec';
import { formatShape, sameShape, StateDict, Tensor } from './state-dict';

export type { StateDict, Tensor } from './state-dict';

/** smp state dicts (and lmk checkpoints, which use the same names), or an ImageNet classifier's `features.N.*`. */
export type WeightsFormat = 'smp' | 'imagenet';

export interface ImportOptions {
  /** Seed for what the file does not hold (decoder and head of an ImageNet file; a fresh head). Default 0. */
  seed?: number;
  /** Keep everything but `segmentation_head.*` and initialise a new head (fine-tuning to another landmark count). */
  freshHead?: boolean;
  /** Names the weights in error messages (a file name). */
  source?: string;
}

/** Weights that do not fit a spec, listed by name and shape. */
export class WeightsMismatchError extends Error {
  override name = 'WeightsMismatchError';
  constructor(
    source: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misshaped: string[],
    spec: ResolvedSpec,
  ) {
    const list = (what: string, items: string[]) => {
      const shown = items.slice(0, 12).join(', ');
      return `${items.length} ${what} (${shown}${items.length > 12 ? `, and ${items.length - 12} more` : ''})`;
    };
    const parts = [
      missing.length ? list('missing', missing) : '',
      unexpected.length ? list('unexpected', unexpected) : '',
      misshaped.length ? list('mis-shaped', misshaped) : '',
    ].filter(Boolean);
    super(`${source}: weights do not fit ${spec.arch}/${spec.encoder} (classes ${spec.classes}, in-channels ${spec.inChannels}, `
      + `width multiplier ${spec.widthMultiplier}): ${parts.join('; ')}`);
  }
}

const isHead = (name: string) => name.startsWith('segmentation_head.');

/** Which kind of file `tensors` came from. */
export function detectWeightsFormat(spec: ModelSpec, tensors: StateDict): WeightsFormat {
  const encoder = getEncoder(resolveSpec(spec).encoder);
  const names = [...tensors.keys()];
  const smpLike = names.some((n) => n.startsWith('encoder.') || n.startsWith('decoder.') || isHead(n));
  return !smpLike && names.some((n) => encoder.imagenetName(n) !== undefined) ? 'imagenet' : 'smp';
}

/** Sums a [O, 3, kh, kw] filter bank over its input channels to [O, 1, kh, kw] (smp, 1-channel input). */
function sumInputChannels(t: Tensor): Tensor {
  const [o, c, kh, kw] = t.dims;
  const k = kh * kw;
  const data = new Float32Array(o * k);
  for (let i = 0; i < o; i++) {
    for (let j = 0; j < c; j++) {
      const from = (i * c + j) * k;
      for (let q = 0; q < k; q++) data[i * k + q] += t.data[from + q];
    }
  }
  return { dims: [o, 1, kh, kw], data };
}

/**
 * A complete state dict for `spec` from the tensors of a weights file:
 * - smp layout (smp state dicts, lmk checkpoints): every parameter and buffer by its smp name;
 *   `num_batches_tracked` and, for U-Net++, smp's unused `decoder.center.*` are ignored;
 * - an ImageNet VGG19 classifier from torchvision or timm (`features.N.*`, classifier/head keys
 *   ignored): the encoder from the file (RGB filters summed for 1 input channel), the decoder and head
 *   initialised as smp does from `options.seed`.
 * Missing, unexpected and mis-shaped tensors are reported together in one WeightsMismatchError.
 */
export function importWeights(spec: ModelSpec, tensors: StateDict, options: ImportOptions = {}): StateDict {
  const s = resolveSpec(spec);
  const seed = validateSeed(options.seed ?? 0);
  const source = options.source ?? 'weights';
  const encoder = getEncoder(s.encoder);
  const { parameters, buffers } = listTensors(s);
  const expected = new Map<string, TensorInfo>([...parameters, ...buffers].map((t) => [t.name, t]));
  const format = detectWeightsFormat(s, tensors);

  const found = new Map<string, Tensor>();
  const present = new Set<string>();
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  for (const [key, tensor] of tensors) {
    let name: string | null | undefined = key;
    let value = tensor;
    if (format === 'imagenet') {
      name = encoder.imagenetName(key);
      if (name === null) continue;
      if (name === encoder.firstConvWeight && s.inChannels === 1 && tensor.dims.length === 4 && tensor.dims[1] === 3) {
        value = sumInputChannels(tensor);
      }
    } else if (key.endsWith('.num_batches_tracked') || (s.arch === 'unetplusplus' && key.startsWith('decoder.center.'))
      || encoder.unusedSmpName?.(key)) {
      continue;
    }
    if (options.freshHead && name !== undefined && isHead(name)) continue;
    const want = name === undefined ? undefined : expected.get(name);
    if (name !== undefined) present.add(name);
    if (!want || name === undefined) unexpected.push(`${key} ${formatShape(tensor.dims)}`);
    else if (!sameShape(value.dims, want.shape)) misshaped.push(`${key} ${formatShape(tensor.dims)}, expected ${formatShape(want.shape)}`);
    else found.set(name, value);
  }

  // What the file is not meant to hold is initialised: ImageNet files hold only the encoder.
  const fromFile = (name: string) => (format === 'imagenet' ? name.startsWith('encoder.') : true) && !(options.freshHead && isHead(name));
  const missing = [...expected.values()]
    .filter((t) => fromFile(t.name) && !present.has(t.name))
    .map((t) => `${t.name} ${formatShape(t.shape)}`);
  if (missing.length || unexpected.length || misshaped.length) throw new WeightsMismatchError(source, missing, unexpected, misshaped, s);

  return new Map([...expected.values()].map((t) => [t.name, found.get(t.name) ?? initTensor(t, seed)]));
}

/**
 * Imports what readSafetensors/parseSafetensors returned (see importWeights); a tensor the spec needs
 * that was stored as F64/I64 (and so skipped) is reported by name.
 */
export function importSafetensors(spec: ModelSpec, contents: SafetensorsContents, options: ImportOptions = {}): StateDict {
  const { parameters, buffers } = listTensors(spec);
  const expected = new Set([...parameters, ...buffers].map((t) => t.name));
  const unreadable = contents.skipped.filter((t) => expected.has(t.name));
  if (unreadable.length) {
    throw new Error(`${options.source ?? 'weights'}: ${unreadable.map((t) => `${t.name} is ${t.dtype}`).join(', ')}; `
      + 'lmk reads weights stored as F32, F16 or BF16');
  }
  return importWeights(spec, contents.tensors, options);
}

/** Reads a `.safetensors` file and imports it for `spec` (see importWeights); errors name the file. */
export async function loadWeights(path: string, spec: ModelSpec, options: Omit<ImportOptions, 'source'> = {}): Promise<StateDict> {
  return importSafetensors(spec, await readSafetensors(path), { ...options, source: path });
}

/**
 * Weights from a `.safetensors` file or an lmk `.onnx` model (its initializers, smp-named; half-precision
 * ones widened), told apart by content: safetensors starts with its header length, then `{`.
 */
export async function readWeightsFile(path: string): Promise<SafetensorsContents> {
  const bytes = await readWeightsBytes(path);
  if (isSafetensors(bytes)) return parseSafetensors(bytes, path);
  let model;
  try {
    model = parseModel(bytes);
  } catch {
    throw new Error(`${path}: neither a safetensors file nor an ONNX model`);
  }
  // The model's own spec names its weights; the graph's other constants are not weights.
  const m = model.metadata ?? {};
  const spec = specFromMetadata(m);
  if (!spec) throw new Error(`${path}: an ONNX model without lmk's metadata (lmk.arch, lmk.encoder, lmk.classes): not an lmk model`);
  const { parameters, buffers } = listTensors(spec);
  const names = new Set([...parameters, ...buffers].map((t) => t.name));
  const all = stateDictOfModel(model);
  return { tensors: new Map([...all].filter(([name]) => names.has(name))), skipped: [], metadata: m };
}
