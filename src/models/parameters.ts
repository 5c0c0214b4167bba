import { GraphBuilder } from '../onnx';
import type { BatchNormOptions, ParamInit } from './layers';
import { buildNetwork } from './network';
import { derivedSeed, Rng } from './random';
import { ModelSpec, resolveSpec } from './spec';
import type { StateDict, Tensor } from './state-dict';
import { InferenceModeLayers } from './inference-layers';

/** A named tensor of a network: its smp name, shape and how it is initialised. */
export interface TensorInfo {
  name: string;
  shape: number[];
  init: ParamInit;
}

export interface BatchNormInfo {
  /** smp prefix: `${prefix}.weight`, `.bias`, `.running_mean`, `.running_var`. */
  prefix: string;
  channels: number;
  epsilon: number;
  momentum: number;
}

/** Everything a spec's network holds, in the order the network uses it. */
export interface NetworkTensors {
  /** Trainable parameters (smp `parameters()`), BatchNorm weight and bias included. */
  parameters: TensorInfo[];
  /** BatchNorm running statistics (smp buffers, less `num_batches_tracked`). */
  buffers: TensorInfo[];
  batchNorms: BatchNormInfo[];
}

/** Layers that only record what the network asks for; values are names in a throwaway graph. */
class RecordingLayers extends InferenceModeLayers {
  readonly tensors: NetworkTensors = { parameters: [], buffers: [], batchNorms: [] };
  private readonly seen = new Set<string>();

  constructor() {
    super(new GraphBuilder('record'));
  }

  private record(list: TensorInfo[], name: string, shape: number[], init: ParamInit): string {
    if (this.seen.has(name)) throw new Error(`network defines '${name}' twice`);
    this.seen.add(name);
    list.push({ name, shape: [...shape], init });
    return name;
  }

  param(name: string, shape: number[], init: ParamInit): string {
    return this.record(this.tensors.parameters, name, shape, init);
  }

  batchNorm(x: string, prefix: string, channels: number, options: BatchNormOptions = {}): string {
    const epsilon = options.epsilon ?? 1e-5;
    this.tensors.batchNorms.push({ prefix, channels, epsilon, momentum: options.momentum ?? 0.1 });
    const w = this.param(`${prefix}.weight`, [channels], { kind: 'ones' });
    const b = this.param(`${prefix}.bias`, [channels], { kind: 'zeros' });
    const m = this.record(this.tensors.buffers, `${prefix}.running_mean`, [channels], { kind: 'zeros' });
    const v = this.record(this.tensors.buffers, `${prefix}.running_var`, [channels], { kind: 'ones' });
    return this.g.batchNormInference(x, w, b, m, v, epsilon);
  }
}

/** The parameters, buffers and BatchNorms of a spec's network (smp names, shapes, default inits). */
export function listTensors(spec: ModelSpec): NetworkTensors {
  const layers = new RecordingLayers();
  const image = layers.g.input('image', 'float32', ['N', resolveSpec(spec).inChannels, 'H', 'W']);
  buildNetwork(layers, spec, image);
  return layers.tensors;
}

/** Number of trainable values, as smp's `sum(p.numel() for p in model.parameters())` minus unused modules. */
export function countParameters(spec: ModelSpec): number {
  return listTensors(spec).parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** A tensor drawn from its init, from a stream that depends only on the seed and the tensor's name. */
export function initTensor(info: TensorInfo, seed: number): Tensor {
  const data = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
  const init = info.init;
  const rng = () => new Rng(derivedSeed(seed, info.name));
  switch (init.kind) {
    case 'zeros': break;
    case 'ones': data.fill(1); break;
    case 'kaiming_uniform': { const b = Math.sqrt(6 / init.fanIn); rng().fillUniform(data, -b, b); break; }
    case 'kaiming_normal_fan_out': rng().fillNormal(data, Math.sqrt(2 / init.fanOut)); break;
    case 'xavier_uniform': { const b = Math.sqrt(6 / (init.fanIn + init.fanOut)); rng().fillUniform(data, -b, b); break; }
    case 'uniform_fan_in': { const b = 1 / Math.sqrt(init.fanIn); rng().fillUniform(data, -b, b); break; }
  }
  return { dims: [...info.shape], data };
}

export function validateSeed(seed: number, source = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`${source}: must be an integer in [0, 4294967295], got ${seed}`);
  return seed;
}

/**
 * A complete state dict initialised as smp does without pretrained weights: torchvision VGG init in the
 * encoder, kaiming-uniform decoder convs, BatchNorm 1/0 with running statistics 0/1, xavier-uniform head.
 * Each tensor depends only on (seed, name), so re-initialising part of a network gives the same values.
 */
export function initStateDict(spec: ModelSpec, seed: number): StateDict {
  validateSeed(seed);
  const { parameters, buffers } = listTensors(spec);
  return new Map([...parameters, ...buffers].map((t) => [t.name, initTensor(t, seed)]));
}
